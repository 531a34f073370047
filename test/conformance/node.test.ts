import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { afterAll, beforeAll } from 'vitest'
import { describeRuntimes } from '../../testing/index.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { startUpstreamServer, type UpstreamServer } from './upstream-server.ts'

// examples/app.ts served in this process through edgeio/node, by edgeio/testing.
const TOKEN = 'node-conformance-token'
let echo: EchoServer
let upstream: UpstreamServer

beforeAll(async () => {
  ;[echo, upstream] = await Promise.all([startEchoServer(), startUpstreamServer()])
  // The server runs in this process: trust the test CA the way NODE_EXTRA_CA_CERTS would
  // for a server started with it, by adding it to Node's default CA list.
  setDefaultCACertificates([...getCACertificates('default'), echo.certificates.ca])
})
afterAll(async () => {
  echo?.close()
  await upstream?.close()
})

describeRuntimes(
  ['node'],
  {
    app: 'examples/app.ts',
    env: async () => ({
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ECHO_PORT: String(await closedPort()),
      ECHO_FALLBACK_PORT: String(echo.port),
      ECHO_TLS_PORT: String(echo.tlsPort),
      SESSION_SECRET,
      UPSTREAM_URL: upstream.url,
    }),
  },
  (server) =>
    describeConformance(
      httpClient(
        'node',
        TOKEN,
        () => server.url,
        () => echo,
        () => upstream
      )
    )
)
