/**
 * Node adapter: serves a `Service` through `@hono/node-server` (its request conversion and
 * disconnect signal are used as they are) and adds what it lacks: `waitUntil`, the
 * lifecycle hooks and a graceful shutdown on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import type { Env } from 'hono'
import type { Listener, Servable } from '../src/index.ts'
import {
  gracefulShutdown,
  InFlight,
  onTermination,
  REMOTE_ADDRESS,
  toService,
  WaitUntilTracker,
} from '../src/index.ts'

export interface NodeServeOptions {
  /** Port to listen on; `0` picks a free one. Default: `$PORT`, else 8787. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
  /** How long in-flight requests, then `waitUntil` work, may run on shutdown. Default 10 s. */
  shutdownTimeout?: number
  /** The bindings seen as `c.env` (with `incoming` / `outgoing` added). Default `process.env`. */
  env?: object
  /** Shut down gracefully on SIGTERM and SIGINT, then exit. Default `true`. */
  signals?: boolean
}

export interface NodeServer {
  readonly server: Server
  readonly port: number
  readonly url: string
  readonly waitUntil: WaitUntilTracker
  /** The graceful shutdown (same as on SIGTERM, without exiting). Idempotent. */
  close(): Promise<void>
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
  const hostname = options.hostname ?? '127.0.0.1'
  const port = options.port ?? Number(process.env.PORT ?? 8787)

  await service.startup()
  const server = createAdaptorServer({
    fetch: (request, bindings) => {
      const response = requests.track(
        service.fetch(request, Object.assign(Object.create(env), bindings), tracker)
      )
      const { incoming, outgoing } = bindings as HttpBindings
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
  const timeout = options.shutdownTimeout ?? 10_000
  let closing: Promise<void> | undefined
  const terminate = onTermination(close, (code) => process.exit(code))
  function close(): Promise<void> {
    closing ??= gracefulShutdown({
      service,
      listener,
      requests,
      waitUntil: tracker,
      timeout,
    }).finally(() => {
      process.off('SIGTERM', terminate)
      process.off('SIGINT', terminate)
    })
    return closing
  }
  if (options.signals ?? true) {
    process.on('SIGTERM', terminate)
    process.on('SIGINT', terminate)
  }

  const address = server.address() as AddressInfo
  return {
    server,
    port: address.port,
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${address.port}`,
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
