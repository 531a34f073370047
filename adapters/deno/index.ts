/**
 * Deno adapter: serves a `Service` with `Deno.serve` and adds `waitUntil`, the lifecycle
 * hooks and the same graceful shutdown as on Node (through the server's `shutdown()`).
 *
 * Run Deno with `"unstable": ["no-legacy-abort"]` in deno.json (or the flag
 * `--unstable-no-legacy-abort`): by default Deno 2 aborts `request.signal` after every
 * successful response too, so a handler cannot tell a disconnect from a completion, and
 * `info.completed` resolves even after a disconnect (both measured with Deno 2.9.6).
 */
import type { Context, Env, MiddlewareHandler } from 'hono'
import type { WSEvents } from 'hono/ws'
import { createWebWorkerExecutor } from '../../src/executor/index.ts'
import type { Servable, ServeOptions, ServerHandle } from '../../src/index.ts'
import type { Listener } from '../../src/internal.ts'
import {
  BodyTimeout,
  DEFAULT_BODY_TIMEOUT_MS,
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
import { connectDeno } from './tcp.ts'

// hono/deno takes Deno ~11 ms to load (bench/coldstart): its static-file and WebSocket
// helpers are loaded on first use, not with the adapter.
const honoDeno = () => import('hono/deno')
function lazyUpgrade(
  createEvents: (c: Context) => WSEvents<WebSocket> | Promise<WSEvents<WebSocket>>,
  options?: Deno.UpgradeWebSocketOptions
): MiddlewareHandler {
  return lazyMiddleware(async () => (await honoDeno()).upgradeWebSocket(createEvents, options))
}

// edgeio's handler for unhandled rejections while a server runs (one at a time, see
// handleUnhandledRejections).
let rejectionListener: ((reason: unknown) => void) | undefined
function onRejectionEvent(event: PromiseRejectionEvent): void {
  event.preventDefault() // instead of Deno's default: print it and exit
  rejectionListener?.(event.reason)
}

/** `env` defaults to `Deno.env`; each request's `c.env` adds `remoteAddr` and `completed`. */
export type DenoServeOptions = ServeOptions

export interface DenoServer extends ServerHandle {
  readonly server: Deno.HttpServer<Deno.NetAddr>
}

const INFO = Symbol('info')
interface RequestEnv {
  [INFO]: Deno.ServeHandlerInfo<Deno.NetAddr>
}

function requestEnv(env: object, info: Deno.ServeHandlerInfo<Deno.NetAddr>): RequestEnv {
  const perRequest: RequestEnv = Object.create(env)
  perRequest[INFO] = info
  return perRequest
}

/** What the runtime-neutral helpers get from Deno. */
export const runtime: Runtime = {
  name: 'deno',
  connect: connectDeno,
  serveStatic: ({ root }) => lazyMiddleware(async () => (await honoDeno()).serveStatic({ root })),
  // Deno pings after idleTimeout/2 (s) of silence and closes the socket (1001) when nothing,
  // not even a pong, arrives within idleTimeout. With the heartbeat off, edgeio's own idle
  // timer closes silent sockets instead (Deno's pings would keep a live client open).
  webSocket: {
    upgrade: lazyUpgrade as WebSocketSupport['upgrade'],
    options: (limits) => ({
      idleTimeout: limits.heartbeatMs > 0 ? limits.idleTimeoutMs / 1000 : 0,
    }),
    pingsItself: true,
  },
  // Executors declared with service.executor() run on Web Workers (needs --allow-read).
  createExecutor: createWebWorkerExecutor,
  clientAddress: (c) => (c.env as RequestEnv | undefined)?.[INFO]?.remoteAddr.hostname,
  cutsWorkAfterResponse: false,
}

const requestSignal = Object.getOwnPropertyDescriptor(Request.prototype, 'signal')?.get
const FORCED = Symbol('edgeio.forcedAbort')

interface ForcedAbort {
  forced: AbortSignal
  combined: AbortSignal | undefined
}

/**
 * One accessor shared by every request: a closure per request would give each request its
 * own hidden class (measured on this server: ~12 µs CPU and ~70 MiB RSS more per request
 * under load than plain Hono). The state it reads is a symbol property, the same shape
 * transition every time.
 */
const followingSignal: PropertyDescriptor = {
  get(this: Request & { [FORCED]: ForcedAbort }) {
    const state = this[FORCED]
    state.combined ??= AbortSignal.any([requestSignal?.call(this) as AbortSignal, state.forced])
    return state.combined
  },
}

/**
 * Deno's `shutdown()` cannot abort the requests it waits for, so each request's `signal`
 * also follows the server's `forced` signal. The combined signal is made on first read
 * only: handlers that never look at it cost one small object.
 */
function followForcedAbort(request: Request, forced: AbortSignal): Request {
  const state: ForcedAbort = { forced, combined: undefined }
  ;(request as Request & { [FORCED]: ForcedAbort })[FORCED] = state
  Object.defineProperty(request, 'signal', followingSignal)
  return request
}

// Dot segments as the WHATWG URL parser sees them: `.`, `..` and their `%2e` spellings.
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:[/?#]|$)/i

/**
 * What Deno's HTTP/1 parser lets through but Node's and workerd's do not (measured with
 * Deno 2.9.6), checked before routing. On the common path that is a `startsWith` and one
 * regex test on the URL, ~50 ns a request (measured in a loop on Deno 2.9.6).
 *
 * - A request without a `Host` (or an empty one) reaches the handler with the URL
 *   `http://localhost:<port>/…`, which Deno invents: refused with 400. The header is read
 *   only for URLs with that prefix, and a request whose authority came from the client
 *   (an absolute-form target, HTTP/2's `:authority`, which replaces `Host` there) passes.
 * - `request.url` keeps dot segments (`/foo/../bar`) where Node and workerd resolve them,
 *   so routes would not match the same paths: resolved here as `new URL()` does.
 *
 * Duplicate `Host` headers are refused by Deno itself (400). A bare LF ending a header line
 * cannot be seen from here (the parsed request looks the same), so Deno accepts it.
 */
function checkRequest(request: Request, inventedOrigin: string): Response | undefined {
  const url = request.url
  if (url.startsWith(inventedOrigin) && !request.headers.get('host')) {
    return badRequest('Bad Request: missing Host header')
  }
  if (DOT_SEGMENT.test(url)) {
    const resolved = new URL(url).href
    if (resolved !== url) Object.defineProperty(request, 'url', { value: resolved })
  }
  return undefined
}

function badRequest(error: string): Response {
  return Response.json({ error }, { status: 400, headers: { connection: 'close' } })
}

/**
 * Runs the service's startup hooks, then listens.
 *
 * @example
 * ```ts
 * import { serve } from 'edgeio/deno'
 * const server = await serve(service, { port: 8787 })
 * console.log(`listening on ${server.url}`)
 * ```
 */
export async function serve<E extends Env>(
  servable: Servable<E>,
  options: DenoServeOptions = {}
): Promise<DenoServer> {
  const service = toService(servable)
  service.attachRuntime(runtime)
  const scope = new ServerScope(runtime)
  const tracker = new WaitUntilTracker()
  const requests = new InFlight()
  // Per request, env is one small object holding the handler info; its prototype reads
  // the info's (lazy) getters only when asked, as `c.env.remoteAddr` for Hono's getConnInfo.
  const env = Object.create(options.env ?? Deno.env.toObject(), {
    remoteAddr: {
      get(this: RequestEnv) {
        return this[INFO].remoteAddr
      },
    },
    completed: {
      get(this: RequestEnv) {
        return this[INFO].completed
      },
    },
    [SERVER_SCOPE]: { value: scope },
  })
  const hostname = options.hostname ?? '127.0.0.1'
  const forced = new AbortController()
  // The origin Deno gives a request that named none (set once the port is known).
  let inventedOrigin = 'http://localhost:0/'
  const bodyTimeout = options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT_MS
  // Deno.serve shows no connections, and its shutdown() closes idle keep-alive ones at once:
  // the drain goes quiet before it (see quietDrain).
  const drain = quietDrain(
    () => server.shutdown(),
    options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  )
  function handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>
  ): Response | Promise<Response> {
    // A body is read under an inactivity timeout (slow or stalled clients): chunked and
    // large ones (guardsBody); Deno cannot tell whether a body has already arrived whole.
    // Small declared ones are not guarded: bounding their reads cost POST /echo ~40 % more
    // CPU and ~45 % more RSS under load (a prototype swap per request, measured with
    // npm run bench), and a client can hold a Deno connection with a partial head anyway.
    let guard: BodyTimeout | undefined
    // Not `request.body !== null`: reading that getter makes Deno build a body stream, which
    // cost POST /echo ~15 % of its throughput and doubled RSS under load (measured).
    if (
      bodyTimeout > 0 &&
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      guardsBody(request.headers.get('content-length'))
    ) {
      guard = new BodyTimeout(bodyTimeout)
      request = withBodyTimeout(request, guard, true)
    }
    const response = requests.track(
      service.fetch(followForcedAbort(request, forced.signal), requestEnv(env, info), tracker)
    )
    if (drain.draining) {
      return drain.hold(
        guard === undefined ? response : Promise.resolve(response).then((res) => guard.answer(res))
      )
    }
    if (guard === undefined) {
      // The drain may begin while the handler runs: its answer then says `Connection: close`.
      if (response instanceof Promise) return response.then(closeIfDraining)
      return response
    }
    return Promise.resolve(response).then((res) => closeIfDraining(guard.answer(res)))
  }
  // Once the drain has begun, every answer says `Connection: close`.
  function closeIfDraining(response: Response): Response {
    return drain.draining ? withConnectionClose(response) : response
  }

  await service.startup()
  const listening = Promise.withResolvers<Deno.NetAddr>()
  let server: Deno.HttpServer<Deno.NetAddr>
  try {
    server = Deno.serve(
      {
        port: options.port ?? Number(Deno.env.get('PORT') ?? DEFAULT_PORT),
        hostname,
        onListen: listening.resolve,
      },
      (request, info) => {
        const bad = checkRequest(request, inventedOrigin)
        if (bad === undefined) return handle(request, info)
        return drain.draining ? drain.hold(bad) : bad
      }
    )
  } catch (error) {
    await service.cleanup()
    throw error
  }
  const address = await listening.promise
  inventedOrigin = `http://localhost:${address.port}/`

  const listener: Listener = {
    close: () => drain.close(),
    abort: () => {
      void drain.stopNow()
      forced.abort(new DOMException('The server is shutting down.', 'AbortError'))
    },
  }
  const close = shutdownControl(
    { service, listener, scope, requests, waitUntil: tracker },
    options,
    {
      addSignalListener: (signal, listener) => Deno.addSignalListener(signal, listener),
      removeSignalListener: (signal, listener) => Deno.removeSignalListener(signal, listener),
      exit: (code) => Deno.exit(code),
    }
  )
  // A rejection nobody handled is logged, not fatal (unless the service asked to exit).
  const stopHandlingRejections = handleUnhandledRejections(options.unhandledRejection ?? 'log', {
    install: (listener) => {
      rejectionListener = listener
      globalThis.addEventListener('unhandledrejection', onRejectionEvent)
    },
    uninstall: () => {
      rejectionListener = undefined
      globalThis.removeEventListener('unhandledrejection', onRejectionEvent)
    },
    exit: (code) => Deno.exit(code),
  })

  return {
    server,
    port: address.port,
    url: serverUrl(hostname, address.port),
    waitUntil: tracker,
    close: () => close().finally(stopHandlingRejections),
  }
}
