import { afterAll, beforeAll } from 'vitest'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { type ServerProcess, startServer } from './spawn.ts'

// The real bun binary (npm package `bun`) serving examples/bun/index.ts.
const TOKEN = 'bun-conformance-token'
let server: ServerProcess
let echo: EchoServer
const client = httpClient(
  'bun',
  TOKEN,
  () => server.url,
  () => echo
)

beforeAll(async () => {
  echo = await startEchoServer()
  server = await startServer('bun', {
    API_TOKEN: TOKEN,
    ECHO_PORT: String(await closedPort()),
    ECHO_FALLBACK_PORT: String(echo.port),
    ECHO_TLS_PORT: String(echo.tlsPort),
    SESSION_SECRET,
    // Bun adds the certificates of this PEM file to its trust store, as Node does.
    NODE_EXTRA_CA_CERTS: echo.certificates.caPath,
  })
})
afterAll(async () => {
  server?.child.kill('SIGTERM')
  await server?.exited
  echo?.close()
})

describeConformance(client)
