import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'

// A real workerd serving the root wrangler.toml (examples/workers/index.ts), started by
// wrangler's unstable_startWorker, reached over HTTP like the Node and Deno servers. Not
// @cloudflare/vitest-plugin's exports.default.fetch: the plugin loads the worker through
// its runner per request, so a request waiting on another (a lock, a coalesced response)
// is cancelled there although it works in workerd proper (see test/workerd/sync).
const TOKEN = 'workerd-conformance-token'
let worker: Awaited<ReturnType<typeof import('wrangler').unstable_startWorker>>
let base: URL
let echo: EchoServer
const client = httpClient(
  'workerd',
  TOKEN,
  () => base.href,
  () => echo
)

beforeAll(async () => {
  echo = await startEchoServer()
  // miniflare reads NODE_EXTRA_CA_CERTS when it is loaded and gives workerd's outbound
  // network those certificates to trust: set it first, then load wrangler.
  process.env.NODE_EXTRA_CA_CERTS = echo.certificates.caPath
  const { unstable_startWorker } = await import('wrangler')
  worker = await unstable_startWorker({
    config: fileURLToPath(new URL('../../wrangler.toml', import.meta.url)),
    bindings: {
      API_TOKEN: { type: 'plain_text', value: TOKEN },
      LOG_LEVEL: { type: 'plain_text', value: 'silent' },
      ECHO_PORT: { type: 'plain_text', value: String(await closedPort()) },
      ECHO_FALLBACK_PORT: { type: 'plain_text', value: String(echo.port) },
      ECHO_TLS_PORT: { type: 'plain_text', value: String(echo.tlsPort) },
      SESSION_SECRET: { type: 'plain_text', value: SESSION_SECRET },
    },
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      logLevel: 'none',
    },
  })
  await worker.ready
  base = await worker.url
}, 60_000)
afterAll(async () => {
  await worker?.dispose()
  echo?.close()
})

describeConformance(client)
