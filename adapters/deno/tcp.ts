/** openConnection on Deno: Deno.connect / Deno.connectTls, whose streams are Web Streams. */
import {
  type Connection,
  ConnectionRefusedError,
  type Connector,
} from '../../src/net/connection.ts'

export const connectDeno: Connector = async ({ hostname, port, tls = false, signal }) => {
  let conn: Deno.Conn
  try {
    conn = tls
      ? await Deno.connectTls({ hostname, port })
      : await Deno.connect({ hostname, port, signal })
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      throw new ConnectionRefusedError(`connection to ${hostname}:${port} refused`, {
        cause: error,
      })
    }
    throw signal?.aborted ? signal.reason : error
  }
  const { promise: closed, resolve } = Promise.withResolvers<void>()
  let open = true
  const close = () => {
    if (open) {
      open = false
      signal?.removeEventListener('abort', close)
      try {
        conn.close()
      } catch {
        // closed by the streams already
      }
      resolve()
    }
    return closed
  }
  signal?.addEventListener('abort', close, { once: true })
  // The peer's end of stream is the end of the connection (it half-closed after us).
  const readable = conn.readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({ flush: () => void close() })
  )
  // Closing Deno's own writable closes the whole connection; closing ours half-closes it
  // (FIN) as the sockets API does, so the answer can still be read.
  const writer = conn.writable.getWriter()
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: () => conn.closeWrite(),
    abort: () => void close(),
  })
  const connection: Connection = { readable, writable, closed, close }
  return connection
}
