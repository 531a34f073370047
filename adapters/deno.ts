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
import { createWebWorkerExecutor } from '../src/executor/index.ts'
import type { Servable, ServeOptions, ServerHandle } from '../src/index.ts'
import type { Listener } from '../src/internal.ts'
import {
  DEFAULT_PORT,
  InFlight,
  lazyMiddleware,
  REMOTE_ADDRESS,
  serverUrl,
  setConnector,
  setStaticServer,
  setWebSocketUpgrader,
  shutdownControl,
  toService,
  WaitUntilTracker,
} from '../src/internal.ts'
import { connectDeno } from './tcp-deno.ts'

// What the runtime-neutral helpers need from this runtime, supplied on import.
setConnector(connectDeno)
// hono/deno takes Deno ~11 ms to load (bench/coldstart): its static-file and WebSocket
// helpers are loaded on first use, not with the adapter.
const honoDeno = () => import('hono/deno')
setStaticServer(({ root }) => lazyMiddleware(async () => (await honoDeno()).serveStatic({ root })))
function lazyUpgrade(
  createEvents: (c: Context) => WSEvents<WebSocket> | Promise<WSEvents<WebSocket>>,
  options?: Deno.UpgradeWebSocketOptions
): MiddlewareHandler {
  return lazyMiddleware(async () => (await honoDeno()).upgradeWebSocket(createEvents, options))
}
// Deno pings after idleTimeout/2 (s) of silence and closes the socket (1001) when nothing,
// not even a pong, arrives within idleTimeout. With the heartbeat off, edgeio's own idle
// timer closes silent sockets instead (Deno's pings would keep a live client open).
setWebSocketUpgrader(
  lazyUpgrade as Parameters<typeof setWebSocketUpgrader>[0],
  (limits) => ({ idleTimeout: limits.heartbeatMs > 0 ? limits.idleTimeoutMs / 1000 : 0 }),
  true
)

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
  // Executors declared with service.executor() run on Web Workers (needs --allow-read).
  service.executorFactory ??= createWebWorkerExecutor
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
    [REMOTE_ADDRESS]: {
      get(this: RequestEnv) {
        return this[INFO].remoteAddr.hostname
      },
    },
  })
  const hostname = options.hostname ?? '127.0.0.1'
  const forced = new AbortController()

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
      (request, info) =>
        requests.track(
          service.fetch(followForcedAbort(request, forced.signal), requestEnv(env, info), tracker)
        )
    )
  } catch (error) {
    await service.cleanup()
    throw error
  }
  const address = await listening.promise

  const listener: Listener = {
    close: () => server.shutdown(),
    abort: () => forced.abort(new DOMException('The server is shutting down.', 'AbortError')),
  }
  const close = shutdownControl({ service, listener, requests, waitUntil: tracker }, options, {
    addSignalListener: (signal, listener) => Deno.addSignalListener(signal, listener),
    removeSignalListener: (signal, listener) => Deno.removeSignalListener(signal, listener),
    exit: (code) => Deno.exit(code),
  })

  return {
    server,
    port: address.port,
    url: serverUrl(hostname, address.port),
    waitUntil: tracker,
    close,
  }
}
