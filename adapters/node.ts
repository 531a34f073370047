/**
 * Node adapter: serves a `Service` through `@hono/node-server` (its request conversion and
 * disconnect signal are used as they are) and adds what it lacks: `waitUntil`, the
 * lifecycle hooks and a graceful shutdown on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer, type HttpBindings, upgradeWebSocket } from '@hono/node-server'
import type { Env } from 'hono'
import type { WebSocketServer } from 'ws'
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
import { DeferredWebSocketServer } from './deferred-websocket-server.ts'

// What the runtime-neutral helpers need from this runtime, supplied on import.
// Loaded on first use, as is the static server below: most services open no TCP connection
// and serve no files from Node, and every module loaded at import delays the first response.
setConnector(async (options) => (await import('./tcp-node.ts')).connectNode(options))
setWebSocketUpgrader(upgradeWebSocket)
setStaticServer(({ root }) =>
  lazyMiddleware(async () => (await import('@hono/node-server/serve-static')).serveStatic({ root }))
)

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
  service.executorFactory ??= async (tasks, options) =>
    (await loadNodeExecutor()).createNodeExecutor(tasks, options)
  const tracker = new WaitUntilTracker()
  const requests = new InFlight()
  // Per request, env is one small object (the bindings) whose prototype is this one.
  const env = Object.create(options.env ?? process.env, {
    [REMOTE_ADDRESS]: {
      get(this: Partial<HttpBindings>) {
        return this.incoming?.socket.remoteAddress
      },
    },
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

  await service.startup()
  const server = createAdaptorServer({
    fetch: (request, bindings) => {
      const { incoming, outgoing } = bindings as HttpBindings
      if (outgoing === undefined) {
        // A WebSocket upgrade: @hono/node-server reads its own env object back afterwards,
        // so that object itself must be c.env.
        Object.setPrototypeOf(bindings, env)
        return requests.track(service.fetch(request, bindings, tracker))
      }
      const response = requests.track(
        service.fetch(request, new RequestEnv(bindings as HttpBindings), tracker)
      )
      if (incoming.readableEnded || request.method === 'GET' || request.method === 'HEAD') {
        return response
      }
      // Answered before the body was read to the end (a 413, a 401 before an upload): the
      // client may still be sending, so this connection cannot carry another request.
      return Promise.resolve(response).then((res) => {
        if (!incoming.readableEnded) outgoing.shouldKeepAlive = false
        return res
      })
    },
    // ws refuses frames over maxPayload before buffering them (1009).
    websocket: {
      server: new DeferredWebSocketServer(
        options.maxWebSocketPayload ?? 1024 * 1024
      ) as unknown as WebSocketServer,
    },
  }) as Server
  try {
    await listen(server, port, hostname)
  } catch (error) {
    await service.cleanup()
    throw error
  }

  const listener: Listener = {
    close: () =>
      new Promise<void>((resolve) => {
        // A keep-alive connection whose last response is done goes idle but stays open
        // until keepAliveTimeout; sweep idle ones away until every connection is gone.
        const sweep = setInterval(() => server.closeIdleConnections(), 10)
        server.close(() => {
          clearInterval(sweep)
          resolve()
        })
      }),
    // Destroying the sockets makes @hono/node-server abort each open request's signal.
    abort: () => server.closeAllConnections(),
  }
  const close = shutdownControl({ service, listener, requests, waitUntil: tracker }, options, {
    addSignalListener: (signal, listener) => process.on(signal, listener),
    removeSignalListener: (signal, listener) => process.off(signal, listener),
    exit: (code) => process.exit(code),
  })

  const address = server.address() as AddressInfo
  return {
    server,
    port: address.port,
    url: serverUrl(hostname, address.port),
    waitUntil: tracker,
    close,
  }
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
async function loadNodeExecutor(): Promise<typeof import('./executor-node.ts')> {
  try {
    return await import('./executor-node.ts')
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
