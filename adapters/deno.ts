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
import {
  BodyTimeoutError,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type Servable,
  type ServeOptions,
  type ServerHandle,
} from '../src/index.ts'
import type { Listener } from '../src/internal.ts'
import {
  BodyTimeout,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_PORT,
  guardsBody,
  handleUnhandledRejections,
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
  withBodyTimeout,
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

/** The methods of a `Request` that read its whole body. */
const BODY_READERS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const
const SMALL_BODY = Symbol('edgeio.smallBody')
const GUARDED_STREAM = Symbol('edgeio.guardedStream')
const requestBody = Object.getOwnPropertyDescriptor(Request.prototype, 'body')?.get

interface SmallBodyRequest extends Request {
  [SMALL_BODY]: BodyTimeout
  [GUARDED_STREAM]?: ReadableStream<Uint8Array> | null
}

/** A read of a small declared body, failed by the sweep once it has taken `bodyTimeout`. */
interface PendingRead {
  readonly tick: number
  readonly guard: BodyTimeout
  readonly reject: (reason: unknown) => void
}

/**
 * Bounds the reads of small declared bodies (≤ 64 KiB, which skip the guarding stream, see
 * SMALL_BODY_BYTES): Deno has no socket timeout to close a connection whose body stalls.
 * Such a request gets a prototype (one per server) that carries the forced-abort `signal`
 * (instead of followForcedAbort's own property, which costs as much as the prototype
 * change) and body readers that register each read in a set; one interval, a quarter of
 * `bodyTimeout`, running only while reads are pending, fails those that have taken
 * `bodyTimeout` with a `BodyTimeoutError`, and the answer becomes the guard's 408. A read is
 * bounded as a whole: a body must arrive within `bodyTimeout` to `bodyTimeout × 1.25` of
 * the read. `request.body` gets the guarding stream (read by read).
 */
function smallBodyGuard(
  bodyTimeout: number,
  forced: AbortSignal
): (request: Request) => BodyTimeout {
  const pending = new Set<PendingRead>()
  // Counts the sweeps: a read seen at tick t has waited more than 4 ticks at tick t + 5.
  let tick = 0
  let sweep: ReturnType<typeof setInterval> | undefined
  function sweepReads(): void {
    tick++
    for (const read of pending) {
      if (tick - read.tick < 5) continue
      pending.delete(read)
      read.guard.timedOut = true
      read.reject(new BodyTimeoutError(bodyTimeout))
    }
    if (pending.size === 0) {
      clearInterval(sweep)
      sweep = undefined
    }
  }
  function bounded<T>(guard: BodyTimeout, read: Promise<T>): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    const entry: PendingRead = { tick, guard, reject }
    pending.add(entry)
    if (sweep === undefined) {
      sweep = setInterval(sweepReads, Math.max(5, bodyTimeout / 4))
      Deno.unrefTimer(sweep)
    }
    read.then(
      (value) => {
        pending.delete(entry)
        resolve(value)
      },
      (error: unknown) => {
        pending.delete(entry)
        reject(error)
      }
    )
    return promise
  }
  const proto = Object.create(Request.prototype, { signal: followingSignal })
  for (const name of BODY_READERS) {
    const read = Request.prototype[name] as (this: Request) => Promise<unknown>
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value(this: SmallBodyRequest) {
        return bounded(this[SMALL_BODY], read.call(this))
      },
    })
  }
  Object.defineProperty(proto, 'body', {
    configurable: true,
    get(this: SmallBodyRequest) {
      if (this[GUARDED_STREAM] === undefined) {
        const body = requestBody?.call(this) as ReadableStream<Uint8Array> | null
        this[GUARDED_STREAM] = body === null ? null : this[SMALL_BODY].wrap(body, true)
      }
      return this[GUARDED_STREAM]
    },
  })
  return (request) => {
    const guard = new BodyTimeout(bodyTimeout)
    Object.setPrototypeOf(request, proto)
    ;(request as Request & { [FORCED]: ForcedAbort })[FORCED] = { forced, combined: undefined }
    ;(request as SmallBodyRequest)[SMALL_BODY] = guard
    return guard
  }
}

/**
 * The drain's quiet window (Node's DRAIN_QUIET_MS): `server.shutdown()` is called once no
 * request has arrived for this long. It closes every idle keep-alive connection at once, so
 * a connection is closed only after the whole server stayed quiet for it, as Node closes
 * one that stayed quiet itself. Answers to requests that arrive in the meantime are held
 * until then (see `serve`).
 */
const DRAIN_QUIET_MS = 250
/** The longest the drain waits for quiet: the latency a held answer can gain. */
const DRAIN_MAX_MS = 1_000

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
  // The origin Deno gives a request that named none (set once the port is known).
  let inventedOrigin = 'http://localhost:0/'
  const bodyTimeout = options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT_MS
  const guardSmallBody = bodyTimeout > 0 ? smallBodyGuard(bodyTimeout, forced.signal) : undefined
  function handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>
  ): Response | Promise<Response> {
    // A body is read under a timeout (slow or stalled clients): chunked and large ones
    // (guardsBody) through a guarding stream, read by read; small declared ones through
    // their body readers (smallBodyGuard). Deno cannot tell whether a body has already
    // arrived whole.
    let guard: BodyTimeout | undefined
    let small = false
    // Not `request.body !== null`: reading that getter makes Deno build a body stream, which
    // cost POST /echo ~15 % of its throughput and doubled RSS under load (measured).
    if (guardSmallBody !== undefined && request.method !== 'GET' && request.method !== 'HEAD') {
      const length = request.headers.get('content-length')
      if (guardsBody(length)) {
        guard = new BodyTimeout(bodyTimeout)
        request = withBodyTimeout(request, guard, true)
      } else if (length !== '0') {
        guard = guardSmallBody(request)
        small = true // its prototype follows the forced abort already
      }
    }
    const response = requests.track(
      service.fetch(
        small ? request : followForcedAbort(request, forced.signal),
        requestEnv(env, info),
        tracker
      )
    )
    if (draining) return heldAnswer(response, guard)
    if (guard === undefined) {
      // The drain may begin while the handler runs: its answer then says `Connection: close`.
      if (response instanceof Promise) return response.then(closeIfDraining)
      return response
    }
    return Promise.resolve(response).then((res) => closeIfDraining(guard.answer(res)))
  }
  // Set once the drain has begun: every answer from then on says `Connection: close`, so
  // that no client sends another request on a connection the shutdown is about to close.
  let draining = false
  // During the drain: when the last request arrived, and a promise that resolves once
  // `server.shutdown()` has been called (it stopped accepting).
  let lastArrival = 0
  const shutdownCalled = Promise.withResolvers<void>()
  /**
   * The answer to a request that arrived during the drain, held until `server.shutdown()`
   * has been called. Its client waits for it instead of opening a new connection (its
   * `Connection: close` would have it do that at once, and the listener still accepts), so
   * clients stop sending, the drain goes quiet, and `shutdown()` finds only connections
   * that carried nothing for the whole quiet window: it closes those, and waits for the
   * held answers, which it then writes and closes. A `101` (WebSocket) is not held: the
   * upgrade happens when it is returned.
   */
  async function heldAnswer(
    response: Response | Promise<Response>,
    guard: BodyTimeout | undefined
  ): Promise<Response> {
    lastArrival = performance.now()
    let res = await response
    if (guard !== undefined) res = guard.answer(res)
    if (res.status === 101) return res
    await shutdownCalled.promise
    return closeIfDraining(res)
  }
  function closeIfDraining(response: Response): Response {
    if (!draining || response.status === 101) return response
    try {
      response.headers.set('connection', 'close')
      return response
    } catch {
      // Immutable headers (a fetched or redirect response): the same answer, copied.
      const copy = new Response(response.body, response)
      copy.headers.set('connection', 'close')
      return copy
    }
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
        return draining ? heldAnswer(bad, undefined) : bad
      }
    )
  } catch (error) {
    await service.cleanup()
    throw error
  }
  const address = await listening.promise
  inventedOrigin = `http://localhost:${address.port}/`

  // Deno offers no way to stop accepting without closing idle keep-alive connections at
  // once (shutdown()), and none to see connections. So the drain first goes quiet: answers
  // say `Connection: close`, those to requests arriving now are held (heldAnswer), and
  // shutdown() is called once no request arrived for DRAIN_QUIET_MS, at most DRAIN_MAX_MS
  // after the drain began, and both at most a quarter of shutdownTimeout (a short timeout
  // is not used up by the window: shutdownTimeout 300 ms gives a 75 ms window). The
  // forced abort calls shutdown() at once and lets the held answers go.
  const shutdownTimeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  const drainMaxMs = Math.min(DRAIN_MAX_MS, shutdownTimeout / 4)
  const quietMs = Math.min(DRAIN_QUIET_MS, drainMaxMs)
  let stopped: Promise<void> | undefined
  let quietTimer: ReturnType<typeof setTimeout> | undefined
  function shutdownNow(): Promise<void> {
    if (stopped === undefined) {
      clearTimeout(quietTimer)
      stopped = server.shutdown()
      // The listener is closed (a client told to close now gets ECONNREFUSED on its next
      // connect): the held answers may go.
      shutdownCalled.resolve()
    }
    return stopped
  }
  const listener: Listener = {
    close: () => {
      draining = true
      const drainStart = performance.now()
      lastArrival = drainStart
      const wait = (ms: number) => {
        quietTimer = setTimeout(() => {
          const now = performance.now()
          const quietFor = now - lastArrival
          if (quietFor >= quietMs || now - drainStart >= drainMaxMs) shutdownNow()
          else wait(Math.min(quietMs - quietFor, drainMaxMs - (now - drainStart)))
        }, ms)
      }
      wait(quietMs)
      return shutdownCalled.promise.then(shutdownNow)
    },
    abort: () => {
      shutdownNow()
      forced.abort(new DOMException('The server is shutting down.', 'AbortError'))
    },
  }
  const close = shutdownControl({ service, listener, requests, waitUntil: tracker }, options, {
    addSignalListener: (signal, listener) => Deno.addSignalListener(signal, listener),
    removeSignalListener: (signal, listener) => Deno.removeSignalListener(signal, listener),
    exit: (code) => Deno.exit(code),
  })
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
