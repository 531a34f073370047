/** openConnection on Node: node:net / node:tls sockets exposed as Web Streams. */
import { once } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import {
  type Connection,
  ConnectionRefusedError,
  type Connector,
} from '../../src/net/connection.ts'

export const connectNode: Connector = async ({ hostname, port, tls = false, signal }) => {
  const socket: Socket = tls
    ? tlsConnect({ host: hostname, port, servername: hostname })
    : netConnect({ host: hostname, port })
  const abort = () => socket.destroy()
  signal?.addEventListener('abort', abort, { once: true })
  try {
    await once(socket, tls ? 'secureConnect' : 'connect')
  } catch (error) {
    signal?.removeEventListener('abort', abort)
    socket.destroy()
    if ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      throw new ConnectionRefusedError(`connection to ${hostname}:${port} refused`, {
        cause: error,
      })
    }
    throw signal?.aborted ? signal.reason : error
  }
  // 'close' follows every end, clean or not; errors reach the readers of the streams.
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      signal?.removeEventListener('abort', abort)
      resolve()
    })
  })
  // toWeb pauses the socket while the readable's queue is full: backpressure reaches TCP.
  const { readable, writable } = Duplex.toWeb(socket) as {
    readable: ReadableStream<Uint8Array>
    writable: WritableStream<Uint8Array>
  }
  const connection: Connection = {
    readable,
    writable,
    closed,
    close() {
      socket.destroy()
      return closed
    },
  }
  return connection
}
