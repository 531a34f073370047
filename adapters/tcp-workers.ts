/** openConnection on Workers: `connect()` from cloudflare:sockets, already this shape. */
import { ConnectionRefusedError, type Connector } from '../src/net/connection.ts'

export const connectWorkers: Connector = async ({ hostname, port, tls = false, signal }) => {
  // Imported when first used, so that this module also loads outside workerd.
  const { connect } = await import('cloudflare:sockets')
  const socket = connect(
    { hostname, port },
    { secureTransport: tls ? 'on' : 'off', allowHalfOpen: true }
  )
  const abort = () => void socket.close()
  signal?.addEventListener('abort', abort, { once: true })
  socket.closed.finally(() => signal?.removeEventListener('abort', abort)).catch(() => {})
  try {
    await socket.opened
  } catch (error) {
    signal?.removeEventListener('abort', abort)
    // workerd says "proxy request failed, cannot connect to the specified address" (local,
    // measured); other builds say "refused".
    if (/refused|cannot connect to the specified address/i.test(String(error))) {
      throw new ConnectionRefusedError(`connection to ${hostname}:${port} refused`, {
        cause: error,
      })
    }
    throw signal?.aborted ? signal.reason : error
  }
  return socket
}
