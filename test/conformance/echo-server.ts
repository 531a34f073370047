import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { createTestCertificates, type TestCertificates } from '../fixtures/tls.ts'

/** One connection the echo service accepted, as the peer of the service under test sees it. */
export interface EchoConnection {
  /** Whether it arrived over TLS. */
  readonly tls: boolean
  /** The first bytes received (up to 256), to tell a case's connection by a marker it sent. */
  head: string
  /** Bytes received (and echoed) so far. */
  received: number
  /** True once the TCP connection is closed (FIN from both sides, or a reset). */
  closed: boolean
}

/** The TCP (and TLS) echo services a runner starts on loopback for the `/pipe` cases. */
export interface EchoServer {
  /** Plain TCP echo port. */
  readonly port: number
  /** TLS echo port; its certificate is for `localhost`, signed by `certificates.ca`. */
  readonly tlsPort: number
  readonly certificates: TestCertificates
  /** Every connection accepted so far, oldest first. */
  readonly connections: readonly EchoConnection[]
  /** The connection whose first bytes contain `marker`, if any arrived yet. */
  find(marker: string): EchoConnection | undefined
  close(): void
}

/** Starts the echo services; resolves once both listen. */
export async function startEchoServer(): Promise<EchoServer> {
  const certificates = createTestCertificates()
  const connections: EchoConnection[] = []
  const track = (tls: boolean) => (socket: Socket) => {
    const seen: EchoConnection = { tls, head: '', received: 0, closed: false }
    connections.push(seen)
    socket.on('error', () => {})
    socket.on('data', (chunk: Buffer) => {
      if (seen.head.length < 256) seen.head += chunk.subarray(0, 256).toString('latin1')
      seen.received += chunk.length
    })
    socket.on('close', () => {
      seen.closed = true
    })
    // pipe() honours backpressure: when the peer stops reading, this stops reading too.
    socket.pipe(socket)
  }
  const plain = createServer(track(false))
  const secure = createTlsServer({ key: certificates.key, cert: certificates.cert }, track(true))
  const listen = async (server: Server, host?: string) => {
    server.listen(0, host)
    await once(server, 'listening')
    return (server.address() as AddressInfo).port
  }
  // The TLS service is reached as `localhost`, which may resolve to ::1 first: listen on
  // every local address rather than 127.0.0.1 alone.
  const [port, tlsPort] = await Promise.all([listen(plain, '127.0.0.1'), listen(secure)])
  return {
    port,
    tlsPort,
    certificates,
    connections,
    find: (marker) => connections.find((c) => c.head.includes(marker)),
    close() {
      plain.close()
      secure.close()
      certificates.remove()
    },
  }
}

/** A loopback port where nothing listens (bound, then released), for refused connections. */
export { freePort as closedPort } from '../fixtures/ports.ts'
