import { afterAll, beforeAll } from 'vitest'
import { describeRuntimes } from '../../testing/index.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { DENO_FLAGS, ENTRIES } from './spawn.ts'
import { startUpstreamServer, type UpstreamServer } from './upstream-server.ts'

// The real deno binary (npm package `deno`) serving examples/deno/main.ts, by edgeio/testing.
const TOKEN = 'deno-conformance-token'
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
  ['deno'],
  {
    entries: ENTRIES,
    denoFlags: DENO_FLAGS,
    env: async () => ({
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ECHO_PORT: String(await closedPort()),
      ECHO_FALLBACK_PORT: String(echo.port),
      ECHO_TLS_PORT: String(echo.tlsPort),
      SESSION_SECRET,
      UPSTREAM_URL: upstream.url,
      // Deno adds the certificates of this PEM file to its trust store (fetch, connectTls).
      DENO_CERT: echo.certificates.caPath,
    }),
  },
  (server) =>
    describeConformance(
      httpClient(
        'deno',
        TOKEN,
        () => server.url,
        () => echo,
        () => upstream
      )
    )
)
