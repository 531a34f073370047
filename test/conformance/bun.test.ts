import { afterAll, beforeAll } from 'vitest'
import { describeRuntimes } from '../../testing/index.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { ENTRIES } from './spawn.ts'
import { startUpstreamServer, type UpstreamServer } from './upstream-server.ts'

// The real bun binary (npm package `bun`) serving examples/bun/index.ts, by edgeio/testing.
const TOKEN = 'bun-conformance-token'
let echo: EchoServer
let upstream: UpstreamServer

beforeAll(async () => {
  ;[echo, upstream] = await Promise.all([startEchoServer(), startUpstreamServer()])
})
afterAll(async () => {
  echo?.close()
  await upstream?.close()
})

describeRuntimes(
  ['bun'],
  {
    entries: ENTRIES,
    env: async () => ({
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ECHO_PORT: String(await closedPort()),
      ECHO_FALLBACK_PORT: String(echo.port),
      ECHO_TLS_PORT: String(echo.tlsPort),
      SESSION_SECRET,
      UPSTREAM_URL: upstream.url,
      // Bun adds the certificates of this PEM file to its trust store, as Node does.
      NODE_EXTRA_CA_CERTS: echo.certificates.caPath,
    }),
  },
  (server) =>
    describeConformance(
      httpClient(
        'bun',
        TOKEN,
        () => server.url,
        () => echo,
        () => upstream
      )
    )
)
