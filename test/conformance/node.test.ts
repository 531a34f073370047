import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { afterAll, beforeAll } from 'vitest'
import { type NodeServer, serve } from '../../adapters/node/index.ts'
import { service } from '../../examples/app.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'

const TOKEN = 'node-conformance-token'
let server: NodeServer
let echo: EchoServer
const client = httpClient(
  'node',
  TOKEN,
  () => server.url,
  () => echo
)

beforeAll(async () => {
  echo = await startEchoServer()
  // The server runs in this process: trust the test CA the way NODE_EXTRA_CA_CERTS would
  // for a server started with it, by adding it to Node's default CA list.
  setDefaultCACertificates([...getCACertificates('default'), echo.certificates.ca])
  server = await serve(service, {
    port: 0,
    signals: false,
    env: {
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ECHO_PORT: String(await closedPort()),
      ECHO_FALLBACK_PORT: String(echo.port),
      ECHO_TLS_PORT: String(echo.tlsPort),
      SESSION_SECRET,
    },
  })
})
afterAll(async () => {
  await server?.close()
  echo?.close()
})

describeConformance(client)
