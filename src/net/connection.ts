/**
 * TCP connections with the shape of the Workers sockets API — Web Streams plus `closed` and
 * `close()` — on every runtime: the app calls `openConnection`, and the adapter it is
 * served through supplies the runtime's own implementation (node:net, Deno.connect,
 * cloudflare:sockets).
 */

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

/** What an adapter supplies: its runtime's way to open a connection. */
export type Connector = (options: ConnectOptions) => Promise<Connection>

/** Nothing listens at the address (or a firewall said no). */
export class ConnectionRefusedError extends Error {
  override name = 'ConnectionRefusedError'
}

let connector: Connector | undefined

/** Called by the adapters: the runtime's implementation of `openConnection`. */
export function setConnector(implementation: Connector): void {
  connector = implementation
}

/**
 * Opens a TCP connection.
 *
 * @example
 * ```ts
 * const conn = await openConnection({ hostname: 'db.internal', port: 6379, signal })
 * const writer = conn.writable.getWriter()
 * await writer.write(new TextEncoder().encode('PING\r\n'))
 * const { value } = await conn.readable.getReader().read()
 * await conn.close()
 * ```
 */
export async function openConnection(options: ConnectOptions): Promise<Connection> {
  options.signal?.throwIfAborted()
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65_535) {
    throw new RangeError(`openConnection: invalid port ${options.port}`)
  }
  if (!connector) {
    throw new Error('openConnection: no connector; serve the app through an edgeio adapter')
  }
  return connector(options)
}
