/**
 * Node adapter: serves a `Service` through `@hono/node-server` (its request conversion and
 * disconnect signal are used as they are) and adds what it lacks: `waitUntil`, the
 * lifecycle hooks and a graceful shutdown on SIGTERM/SIGINT.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { type AddressInfo, Socket } from 'node:net'
import { createAdaptorServer, type HttpBindings, upgradeWebSocket } from '@hono/node-server'
import type { Env } from 'hono'
import type { WebSocketServer } from 'ws'
import type { Servable, ServeOptions, ServerHandle } from '../../src/index.ts'
import type { Listener } from '../../src/internal.ts'
import {
  BodyTimeout,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_PORT,
  guardsBody,
  handleUnhandledRejections,
  InFlight,
  lazyMiddleware,
  type Runtime,
  SERVER_SCOPE,
  ServerScope,
  serverUrl,
  shutdownControl,
  toService,
  WaitUntilTracker,
  withBodyTimeout,
} from '../../src/internal.ts'
import { DeferredWebSocketServer } from './websocket-server.ts'

export {
  type NodeFetchOptions,
  nodeFetch,
  type PooledFetch,
} from './client-pool.ts'

/**
 * What the runtime-neutral helpers get from Node. The TCP connector, the static server and
 * piscina are loaded on first use: most services open no TCP connection and serve no files
 * from Node, and every module loaded at import delays the first response.
 */
export const runtime: Runtime = {
  name: 'node',
  connect: async (options) => (await import('./tcp.ts')).connectNode(options),
  serveStatic: ({ root }) =>
    lazyMiddleware(async () =>
      (await import('@hono/node-server/serve-static')).serveStatic({ root })
    ),
  webSocket: { upgrade: upgradeWebSocket, pingsItself: false },
  // Executors declared with service.executor() run on worker threads (piscina).
  createExecutor: async (tasks, options) =>
    (await loadNodeExecutor()).createNodeExecutor(tasks, options),
  clientAddress: (c) =>
    (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress,
  cutsWorkAfterResponse: false,
}

/**
 * During a drain, a connection that carried no request since the drain began and stayed
 * quiet (no byte read, no answer pending) for this long is closed. Connections that carry a
 * request are closed by that request's `Connection: close` answer instead, so a client
 * that keeps sending is never cut off between its requests.
 */
const DRAIN_QUIET_MS = 250

/**
 * Bounds of the lingering close (see lingerOnClose): nginx's `lingering_time` (30 s) and
 * `lingering_timeout` (5 s), scaled down. A client still uploading when its answer (a 413)
 * went out needs about a round trip to read it and stop; one that keeps sending after that
 * is cut off: at most LINGER_MS after the answer (checked on each chunk, so a trickle is
 * cut at its first chunk past it), LINGER_QUIET_MS of silence, LINGER_MAX_BYTES dropped.
 * The byte bound keeps a client on loopback from making the server read gigabytes within
 * LINGER_MS; 16 MiB is ~130 ms of a 1 Gbit/s upload (eight concurrent uploads on loopback
 * each sent at most 6.5 MB more before reading their 413 and closing).
 */
const LINGER_MS = 5_000
/** See LINGER_MS. */
const LINGER_QUIET_MS = 1_000
/** See LINGER_MS. */
const LINGER_MAX_BYTES = 16 * 1024 * 1024

/** `env` defaults to `process.env`; each request's `c.env` adds `incoming` and `outgoing`. */
export interface NodeServeOptions extends ServeOptions {
  /** Largest WebSocket frame accepted before buffering, in bytes. Default 1 MiB. */
  maxWebSocketPayload?: number
}

export interface NodeServer extends ServerHandle {
  readonly server: Server
}

/**
 * Runs the service's startup hooks, then listens.
 *
 * @example
 * ```ts
 * import { serve } from 'edgeio/node'
 * const server = await serve(service, { port: 8787 })
 * console.log(`listening on ${server.url}`)
 * ```
 */
export async function serve<E extends Env>(
  servable: Servable<E>,
  options: NodeServeOptions = {}
): Promise<NodeServer> {
  const service = toService(servable)
  // Executors declared with service.executor() run on worker threads (piscina, loaded only then).
  service.attachRuntime(runtime)
  const scope = new ServerScope(runtime)
  const tracker = new WaitUntilTracker()
  const requests = new InFlight()
  // Per request, env is one small object (the bindings) whose prototype is this one.
  const env = Object.create(options.env ?? process.env, {
    [SERVER_SCOPE]: { value: scope },
  })
  // A class over env rather than Object.create(env) + Object.assign per request: V8 cannot
  // cache a map for objects made from a prototype chain that ends in process.env, so that
  // costs ~0.5 µs a request; a constructor costs ~20 ns (measured on Node 24).
  class RequestEnv implements HttpBindings {
    incoming: HttpBindings['incoming']
    outgoing: HttpBindings['outgoing']
    constructor({ incoming, outgoing }: HttpBindings) {
      this.incoming = incoming
      this.outgoing = outgoing
    }
  }
  Object.setPrototypeOf(RequestEnv.prototype, env)
  const hostname = options.hostname ?? '127.0.0.1'
  const port = options.port ?? Number(process.env.PORT ?? DEFAULT_PORT)
  const bodyTimeout = options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT_MS
  const headersTimeout = options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT_MS
  // Set once the drain has begun: every answer from then on closes its connection.
  let draining = false
  // Connections that carried a request since the drain began: their answer closes them.
  const servedWhileDraining = new WeakSet<Socket>()

  await service.startup()
  const server = createAdaptorServer({
    // A request without Host is built on this name rather than refused with an empty 400,
    // so that edgeio answers it (hostProblem) with the JSON error shape.
    hostname,
    fetch: (request, bindings) => {
      const { incoming, outgoing } = bindings as HttpBindings
      // Duplicate, empty or missing Host: 400 as on Deno and workerd (see hostProblem).
      const badHost = hostProblem(incoming.rawHeaders)
      if (badHost !== undefined) {
        if (outgoing !== undefined) outgoing.shouldKeepAlive = false
        return Response.json({ error: `Bad Request: ${badHost}` }, { status: 400 })
      }
      if (draining) servedWhileDraining.add(incoming.socket)
      if (outgoing === undefined) {
        // A WebSocket upgrade: @hono/node-server reads its own env object back afterwards,
        // so that object itself must be c.env.
        Object.setPrototypeOf(bindings, env)
        return requests.track(service.fetch(request, bindings, tracker))
      }
      if (draining) outgoing.shouldKeepAlive = false
      // A body still arriving is read under an inactivity timeout (slow or stalled clients):
      // chunked and large ones through a guarding stream (a 408), small declared ones by
      // the socket's own inactivity timeout (Node destroys a socket whose request stalls).
      let guard: BodyTimeout | undefined
      if (
        bodyTimeout > 0 &&
        !incoming.complete &&
        request.method !== 'GET' &&
        request.method !== 'HEAD'
      ) {
        if (guardsBody(incoming.headers['content-length'])) {
          guard = new BodyTimeout(bodyTimeout)
          request = withBodyTimeout(request, guard, false)
        } else {
          incoming.socket.setTimeout(bodyTimeout)
          incoming.once('end', clearSocketTimeout)
        }
      }
      const response = requests.track(
        service.fetch(request, new RequestEnv(bindings as HttpBindings), tracker)
      )
      if (incoming.readableEnded || request.method === 'GET' || request.method === 'HEAD') {
        return response
      }
      // Answered before the body was read to the end (a 413, a 401 before an upload): the
      // client may still be sending, so this connection cannot carry another request, and
      // is closed lingering so that the client reads its answer.
      return Promise.resolve(response).then((res) => {
        if (!incoming.readableEnded) {
          outgoing.shouldKeepAlive = false
          lingerOnClose(incoming)
        }
        return guard === undefined ? res : guard.answer(res)
      })
    },
    serverOptions: {
      // Node's own refusal of a Host-less HTTP/1.1 request is an empty 400; edgeio answers
      // it (hostProblem, HTTP/1.0 included) with the JSON error shape instead.
      requireHostHeader: false,
      headersTimeout,
      // Node checks its header and request timeouts on this interval (default 30 s, which
      // would let a 30 s timeout run to 60 s).
      connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(headersTimeout / 10))),
    },
    // ws refuses frames over maxPayload before buffering them (1009).
    websocket: {
      server: new DeferredWebSocketServer(
        options.maxWebSocketPayload ?? 1024 * 1024
      ) as unknown as WebSocketServer,
    },
  }) as Server
  // Node's requestTimeout (the whole request, 300 s by default) must not be below it.
  if (server.requestTimeout > 0 && server.requestTimeout < headersTimeout) {
    server.requestTimeout = headersTimeout
  }
  // Every open connection, to find the answers in progress when the drain begins.
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  try {
    await listen(server, port, hostname)
  } catch (error) {
    await service.cleanup()
    throw error
  }

  const listener: Listener = {
    close: () =>
      new Promise<void>((resolve) => {
        draining = true
        // Answers not started yet say `Connection: close` and end their connection.
        for (const socket of sockets) {
          const response = currentResponse(socket)
          if (response && !response.headersSent) response.shouldKeepAlive = false
        }
        // A keep-alive connection whose last response is done goes idle but stays open
        // until keepAliveTimeout. Closing it at once (as http.Server.close() does) resets
        // a request the client is sending on it at that moment: close it only once it has
        // stayed quiet for DRAIN_QUIET_MS; a request arriving first is answered and closes it.
        const lastRead = new Map<Socket, number>()
        const sweep = setInterval(() => {
          for (const socket of sockets) {
            const response = currentResponse(socket)
            const busy = (response && !response.writableFinished) || servedWhileDraining.has(socket)
            const quiet = !busy && lastRead.get(socket) === socket.bytesRead
            if (quiet) socket.destroy()
            else lastRead.set(socket, busy ? -1 : socket.bytesRead)
          }
        }, DRAIN_QUIET_MS)
        // Stop listening; the callback runs once every connection has ended. Without the
        // immediate closeIdleConnections() http.Server.close() makes first.
        server.closeIdleConnections = () => {}
        server.close(() => {
          clearInterval(sweep)
          resolve()
        })
        Reflect.deleteProperty(server, 'closeIdleConnections')
      }),
    // Destroying the sockets makes @hono/node-server abort each open request's signal.
    abort: () => server.closeAllConnections(),
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

  const address = server.address() as AddressInfo
  return {
    server,
    port: address.port,
    url: serverUrl(hostname, address.port),
    waitUntil: tracker,
    close: () => close().finally(stopHandlingRejections),
  }
}

/**
 * Why a request's `Host` is unusable, or undefined when there is exactly one, non-empty.
 * Node's parser passes a repeated `Host` (`incoming.headers.host` keeps the first, the
 * request's Headers join both), and @hono/node-server answers a missing one with an empty
 * 400; Deno refuses a duplicate and workerd both. One pass over the raw header names,
 * ~30 ns for a dozen headers (the name test is a length check first).
 */
function hostProblem(rawHeaders: readonly string[]): string | undefined {
  let host: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue
    if (host !== undefined) return 'duplicate Host header'
    host = rawHeaders[i + 1] as string
  }
  return host ? undefined : 'missing Host header'
}

/** The answer in progress on a connection: Node's own (internal) `socket._httpMessage`. */
function currentResponse(socket: Socket): ServerResponse | null | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
}

/**
 * Lingering close, as Apache's and nginx's (`lingering_close`), for a connection answered
 * before its request body was read to the end. Node closes it once the answer is written
 * (the answer says `Connection: close`), with bytes of the upload still unread: the kernel
 * then resets the connection, and a client still writing its upload gets EPIPE or
 * ECONNRESET before it reads the answer. Instead the connection is half-closed after the
 * answer, and what the client still sends is read and dropped until it closes its side or
 * a bound is reached (LINGER_MS).
 */
function lingerOnClose(incoming: IncomingMessage): void {
  // Node's resOnFinish ends such a connection with socket.destroySoon() (end(), then
  // destroy() once written): the one call between the answer and the close, with no public
  // option to change it. An own property replaces it on this socket only.
  incoming.socket.destroySoon = function lingerOrDestroySoon(this: Socket): void {
    // @hono/node-server's own drain of the body calls it again (500 ms later, to end that
    // drain): the linger has bounds of its own, so it starts once and nothing ends it early.
    this.destroySoon = noop
    if (incoming.complete) Socket.prototype.destroySoon.call(this)
    else linger(this)
  }
}

/**
 * Half-closes `socket` and drops what it still receives, within the LINGER_MS bounds. A
 * client that closes its side ends it at once (Node destroys a socket whose request ends
 * mid-body, and one whose both sides have ended).
 */
function linger(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.writable) socket.end()
  // The rest is a body nobody reads: it is taken from Node's HTTP parser (its 'data'
  // listener), which would push it into the request (buffered there if its reader stopped)
  // or parse and serve a request pipelined after it, and dropped unparsed. Adding a 'data'
  // listener makes Node hand the socket's reads from its parser back to the socket.
  socket.removeAllListeners('data')
  const deadline = performance.now() + LINGER_MS
  let discarded = 0
  socket.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > LINGER_MAX_BYTES || performance.now() > deadline) socket.destroy()
  })
  socket.setTimeout(LINGER_QUIET_MS, destroySocket)
  socket.resume()
}

/** The lingering socket stayed quiet for LINGER_QUIET_MS. */
function destroySocket(this: Socket): void {
  this.destroy()
}

function noop(): void {}

/** The body arrived whole: its socket no longer times out (keep-alive sets its own). */
function clearSocketTimeout(this: IncomingMessage): void {
  this.socket?.setTimeout(0)
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** piscina is an optional peer: only a service that declares an executor needs it. */
async function loadNodeExecutor(): Promise<typeof import('./executor.ts')> {
  try {
    return await import('./executor.ts')
  } catch (error) {
    if (
      (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' &&
      String(error).includes("'piscina'")
    ) {
      throw new Error(
        'service.executor() on Node runs tasks on worker threads with piscina, which is not installed: run `npm install piscina`',
        { cause: error }
      )
    }
    throw error
  }
}
