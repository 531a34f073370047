import { afterAll, beforeAll } from 'vitest'
import { describeRuntimes } from '../../testing/index.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { startUpstreamServer, type UpstreamServer } from './upstream-server.ts'

// A real workerd serving the root wrangler.toml (examples/workers/index.ts), started by
// edgeio/testing through wrangler's dev server and reached over HTTP like the others.
const TOKEN = 'workerd-conformance-token'
let echo: EchoServer
let upstream: UpstreamServer

beforeAll(async () => {
  ;[echo, upstream] = await Promise.all([startEchoServer(), startUpstreamServer()])
  // miniflare reads NODE_EXTRA_CA_CERTS when it is loaded and gives workerd's outbound
  // network those certificates to trust: set it before edgeio/testing loads wrangler.
  process.env.NODE_EXTRA_CA_CERTS = echo.certificates.caPath
})
afterAll(async () => {
  echo?.close()
  await upstream?.close()
})

describeRuntimes(
  ['workerd'],
  {
    wrangler: 'wrangler.toml',
    workerdLogLevel: 'none',
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
        'workerd',
        TOKEN,
        () => server.url,
        () => echo,
        () => upstream
      )
    )
)
