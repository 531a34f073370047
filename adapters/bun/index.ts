/**
 * Bun adapter: serves a `Service` with `Bun.serve` and adds `waitUntil`, the lifecycle
 * hooks and the same graceful shutdown as on Node and Deno (through the server's `stop()`).
 * Bun's request `signal` fires on a client disconnect only, as edgeio wants (measured with
 * Bun 1.4.5: not after a completed response).
 */
import type { Server } from 'bun'
import type { Env } from 'hono'
import { createWebWorkerExecutor } from '../../src/executor/index.ts'
import type { Servable, ServeOptions, ServerHandle } from '../../src/index.ts'
import type { Listener } from '../../src/internal.ts'
import {
  BodyTimeout,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  guardsBody,
  handleUnhandledRejections,
  InFlight,
  lazyMiddleware,
  quietDrain,
  type Runtime,
  SERVER_SCOPE,
  ServerScope,
  serverUrl,
  shutdownControl,
  toService,
  WaitUntilTracker,
  type WebSocketSupport,
  withBodyTimeout,
  withConnectionClose,
} from '../../src/internal.ts'
import { hostProblem } from './host.ts'
import { connectBun } from './tcp.ts'
import { loadHonoBun, upgradeWebSocket, websocketHandler } from './websocket.ts'

/** What the runtime-neutral helpers get from Bun. */
export const runtime: Runtime = {
  name: 'bun',
  connect: connectBun,
  serveStatic: ({ root }) =>
    lazyMiddleware(async () => (await loadHonoBun()).serveStatic({ root })),
  webSocket: { upgrade: upgradeWebSocket as WebSocketSupport['upgrade'], pingsItself: false },
  // Executors declared with service.executor() run on Web Workers, as on Deno.
  createExecutor: createWebWorkerExecutor,
  clientAddress: (c) => {
    const env = c.env as (RequestEnv & { server?: Server<unknown> }) | undefined
    return env?.[REQUEST] && env.server?.requestIP(env[REQUEST])?.address
  },
  cutsWorkAfterResponse: false,
}

/** `env` defaults to `process.env`; each request's `c.env` adds `server` (as `hono/bun` expects). */
export interface BunServeOptions extends ServeOptions {
  /** Largest WebSocket message accepted before buffering, in bytes (1009). Default 1 MiB. */
  maxWebSocketPayload?: number
}

export interface BunServer extends ServerHandle {
  readonly server: Server<unknown>
}

const REQUEST = Symbol('request')
interface RequestEnv {
  [REQUEST]: Request
}

/**
 * Bun's `idleTimeout` (s) also cuts a handler that has not answered yet, and a streamed
 * answer, once nothing was written for that long (measured: a 5 s handler under a 2 s
 * timeout lost its connection at 4 s). Node cuts neither, so a pending handler runs with
 * none, and the timeout is set again when its answer is ready: it then bounds the keep-alive
 * wait for the next request, as `headersTimeout` does on Node (and a streamed answer that
 * stays silent that long, which Node would not cut).
 */
function idleSeconds(headersTimeout: number): number {
  return headersTimeout > 0 ? Math.min(255, Math.max(1, Math.ceil(headersTimeout / 1000))) : 0
}

/**
 * Runs the service's startup hooks, then listens.
 *
 * @example
 * ```ts
 * import { serve } from 'edgeio/bun'
 * const server = await serve(service, { port: 8787 })
 * console.log(`listening on ${server.url}`)
 * ```
 */
export async function serve<E extends Env>(
  servable: Servable<E>,
  options: BunServeOptions = {}
): Promise<BunServer> {
  const service = toService(servable)
  service.attachRuntime(runtime)
  const scope = new ServerScope(runtime)
  const tracker = new WaitUntilTracker()
  const requests = new InFlight()
  let server: Server<unknown>
  // Per request, env is one small object holding the request; its prototype has the server
  // (`c.env.server`, which hono/bun's helpers read) and the server's scope.
  const env = Object.create(options.env ?? process.env, {
    server: {
      get: () => server,
    },
    [SERVER_SCOPE]: { value: scope },
  })
  const hostname = options.hostname ?? '127.0.0.1'
  const bodyTimeout = options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT_MS
  const idle = idleSeconds(options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT_MS)

  // Bun's stop() closes idle keep-alive connections at once: the drain goes quiet first.
  const drain = quietDrain(
    () => server.stop(),
    options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  )
  function handle(request: Request): Response | Promise<Response> {
    const problem = hostProblem(request)
    const response =
      problem === undefined ? serveRequest(request) : badRequest(`Bad Request: ${problem}`)
    if (!drain.draining) return response
    return drain.hold(response)
  }
  function serveRequest(request: Request): Response | Promise<Response> {
    const perRequest: RequestEnv = Object.create(env)
    perRequest[REQUEST] = request
    // A body is read under an inactivity timeout (slow or stalled clients): chunked and
    // large ones (guardsBody), as on Deno, and for the same reason small ones are not.
    let guard: BodyTimeout | undefined
    let served = request
    if (
      bodyTimeout > 0 &&
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      guardsBody(request.headers.get('content-length'))
    ) {
      guard = new BodyTimeout(bodyTimeout)
      served = withBodyTimeout(request, guard, true)
    }
    const response = requests.track(service.fetch(served, perRequest, tracker))
    if (!(response instanceof Promise)) {
      const res = guard === undefined ? response : guard.answer(response)
      return closeIfDraining(res)
    }
    // Answered later: no idle timeout until then (see idleSeconds).
    if (idle > 0) server.timeout(request, 0)
    return response.then((res) => {
      if (idle > 0) server.timeout(request, idle)
      return closeIfDraining(guard === undefined ? res : guard.answer(res))
    })
  }
  // Once the drain has begun, every answer says `Connection: close`.
  function closeIfDraining(response: Response): Response {
    return drain.draining ? withConnectionClose(response) : response
  }

  await service.startup()
  try {
    server = Bun.serve({
      port: options.port ?? Number(process.env.PORT ?? DEFAULT_PORT),
      hostname,
      idleTimeout: idle,
      // edgeio limits bodies itself, while they stream (bodyLimit); Bun's own limit
      // (128 MiB by default) would refuse a route that lifts it.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // Never Bun's error page with a stack trace, whatever NODE_ENV says.
      development: false,
      fetch: handle,
      websocket: websocketHandler(options.maxWebSocketPayload ?? 1024 * 1024),
    })
  } catch (error) {
    await service.cleanup()
    throw error
  }
  const port = server.port as number

  const listener: Listener = {
    // stop(), after the quiet window, stops accepting and closes each busy connection once
    // its answer is out.
    close: () => drain.close(),
    // Ends every connection: Bun aborts the signal of each request still in flight.
    abort: () => {
      void drain.stopNow()
      void server.stop(true)
    },
  }
  const close = shutdownControl(
    { service, listener, scope, requests, waitUntil: tracker },
    options,
    {
      addSignalListener: (signal, listener) => process.on(signal, listener),
      removeSignalListener: (signal, listener) => process.off(signal, listener),
      exit: (code) => process.exit(code),
    }
  )
  // A rejection nobody handled is logged, not fatal (unless the service asked to exit).
  const stopHandlingRejections = handleUnhandledRejections(options.unhandledRejection ?? 'log', {
    install: (listener) => process.on('unhandledRejection', listener),
    uninstall: (listener) => process.off('unhandledRejection', listener),
    exit: (code) => process.exit(code),
  })

  return {
    server,
    port,
    url: serverUrl(hostname, port),
    waitUntil: tracker,
    close: () => close().finally(stopHandlingRejections),
  }
}

function badRequest(error: string): Response {
  return Response.json({ error }, { status: 400, headers: { connection: 'close' } })
}
