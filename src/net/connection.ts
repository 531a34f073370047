/**
 * TCP connections with the shape of the Workers sockets API — Web Streams plus `closed` and
 * `close()` — on every runtime: the app calls `openConnection`, and the runtime serving it
 * supplies its own implementation (node:net, Deno.connect, Bun.connect, cloudflare:sockets).
 */
import type { Context } from 'hono'
import { Service } from '../lifecycle/service.ts'
import { serverScope } from '../runtime/server-scope.ts'

export interface ConnectOptions {
  hostname: string
  port: number
  /** TLS from the first byte. Default `false`. */
  tls?: boolean
  /** Aborting closes the connection (or stops the attempt). */
  signal?: AbortSignal
}

/** An open TCP connection: the asyncio `open_connection` reader/writer pair as Web Streams. */
export interface Connection {
  /** Bytes from the peer; ends when the peer closes its side. Backpressure reaches TCP. */
  readonly readable: ReadableStream<Uint8Array>
  /** Bytes to the peer; `close()` on it half-closes the connection (FIN). */
  readonly writable: WritableStream<Uint8Array>
  /** Settles once the connection is fully closed. */
  readonly closed: Promise<void>
  /** Closes both directions at once. */
  close(): Promise<void>
}

/** What a runtime supplies: its way to open a connection. */
export type Connector = (options: ConnectOptions) => Promise<Connection>

/** Nothing listens at the address (or a firewall said no). */
export class ConnectionRefusedError extends Error {
  override name = 'ConnectionRefusedError'
}

/**
 * Opens a TCP connection through the runtime serving `from`: a request's context, or the
 * service itself (in its startup hooks and cleanup contexts, once an adapter serves it).
 *
 * @example
 * ```ts
 * app.get('/ping-redis', async (c) => {
 *   const conn = await openConnection(c, { hostname: 'db.internal', port: 6379, signal: c.req.raw.signal })
 *   …
 * })
 * service.cleanupCtx(async function* (service) {
 *   const conn = await openConnection(service, { hostname: 'db.internal', port: 6379 })
 *   yield
 *   await conn.close()
 * })
 * ```
 *
 * The connection in full:
 * ```ts
 * const conn = await openConnection(c, { hostname: 'db.internal', port: 6379, signal })
 * const writer = conn.writable.getWriter()
 * await writer.write(new TextEncoder().encode('PING\r\n'))
 * const { value } = await conn.readable.getReader().read()
 * await conn.close()
 * ```
 */
export async function openConnection(
  from: Context | Service,
  options: ConnectOptions
): Promise<Connection> {
  options.signal?.throwIfAborted()
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
    throw new RangeError(`openConnection: invalid port ${options.port}`)
  }
  const runtime =
    from instanceof Service ? from.runtime : serverScope(from, 'openConnection').runtime
  if (runtime === undefined) {
    throw new Error(
      'openConnection: the service is not served yet; call it from a startup hook or a request, once an edgeio adapter serves the service'
    )
  }
  return runtime.connect(options)
}
