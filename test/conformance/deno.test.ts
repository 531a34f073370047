import { afterAll, beforeAll } from 'vitest'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { type ServerProcess, startServer } from './spawn.ts'

// The real deno binary (npm package `deno`) serving examples/deno/main.ts.
const TOKEN = 'deno-conformance-token'
let server: ServerProcess
let echo: EchoServer
const client = httpClient(
  'deno',
  TOKEN,
  () => server.url,
  () => echo
)

beforeAll(async () => {
  echo = await startEchoServer()
  server = await startServer('deno', {
    API_TOKEN: TOKEN,
    ECHO_PORT: String(await closedPort()),
    ECHO_FALLBACK_PORT: String(echo.port),
    ECHO_TLS_PORT: String(echo.tlsPort),
    SESSION_SECRET,
    // Deno adds the certificates of this PEM file to its trust store (fetch, connectTls).
    DENO_CERT: echo.certificates.caPath,
  })
})
afterAll(async () => {
  server?.child.kill('SIGTERM')
  await server?.exited
  echo?.close()
})

describeConformance(client)
