import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'

/** A TCP echo service on loopback for the `/pipe` case; resolves with its port. */
export async function startEchoServer(): Promise<{ port: number; close(): void }> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, close: () => server.close() }
}
