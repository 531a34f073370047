/// <reference types="./cloudflare-sockets.d.ts" />
/** openConnection on Workers: `connect()` from cloudflare:sockets, already nearly this shape. */
import {
  type Connection,
  ConnectionRefusedError,
  type Connector,
} from '../../src/net/connection.ts'

export const connectWorkers: Connector = async ({ hostname, port, tls = false, signal }) => {
  // Imported when first used, so that this module also loads outside workerd.
  const { connect } = await import('cloudflare:sockets')
  const socket = connect(
    { hostname, port },
    { secureTransport: tls ? 'on' : 'off', allowHalfOpen: true }
  )
  // workerd does not close a socket whose streams are in use: with a pipe into the
  // writable and a response reading the readable, `socket.close()` rejected `closed` ("This
  // WritableStream is currently being piped to") and the peer kept its connection (measured,
  // local workerd). So the caller gets wrappers, and close() first lets go of both ends.
  const reader = socket.readable.getReader()
  const writer = socket.writable.getWriter()
  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      signal?.removeEventListener('abort', abort)
      await reader.cancel().catch(() => {})
      writer.releaseLock() // pending writes reject; the socket's writable is free to close
      await socket.close().catch(() => {})
    })()
    return closing
  }
  const abort = () => void close()
  signal?.addEventListener('abort', abort, { once: true })
  socket.closed.finally(() => signal?.removeEventListener('abort', abort)).catch(() => {})
  try {
    await socket.opened
  } catch (error) {
    await close()
    // workerd says "proxy request failed, cannot connect to the specified address" (local,
    // measured); other builds say "refused".
    if (/refused|cannot connect to the specified address/i.test(String(error))) {
      throw new ConnectionRefusedError(`connection to ${hostname}:${port} refused`, {
        cause: error,
      })
    }
    throw signal?.aborted ? signal.reason : error
  }
  // Pull-based with no queue of their own: backpressure still reaches the socket.
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      cancel: () => close(),
    },
    { highWaterMark: 0 }
  )
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(), // half-close (FIN): the answer can still be read
    abort: () => close(),
  })
  const connection: Connection = { readable, writable, closed: socket.closed, close }
  return connection
}
