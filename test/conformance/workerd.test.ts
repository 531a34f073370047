import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { unstable_startWorker } from 'wrangler'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, startEchoServer } from './echo-server.ts'

// A real workerd serving the root wrangler.toml (examples/workers/index.ts), started by
// wrangler's unstable_startWorker, reached over HTTP like the Node and Deno servers. Not
// @cloudflare/vitest-plugin's exports.default.fetch: the plugin loads the worker through
// its runner per request, so a request waiting on another (a lock, a coalesced response)
// is cancelled there although it works in workerd proper (see test/workerd/sync).
const TOKEN = 'workerd-conformance-token'
let worker: Awaited<ReturnType<typeof unstable_startWorker>>
let base: URL
const client = httpClient('workerd', TOKEN, () => base.href)

let echo: Awaited<ReturnType<typeof startEchoServer>>

beforeAll(async () => {
  echo = await startEchoServer()
  worker = await unstable_startWorker({
    config: fileURLToPath(new URL('../../wrangler.toml', import.meta.url)),
    bindings: {
      API_TOKEN: { type: 'plain_text', value: TOKEN },
      LOG_LEVEL: { type: 'plain_text', value: 'silent' },
      ECHO_PORT: { type: 'plain_text', value: String(await closedPort()) },
      ECHO_FALLBACK_PORT: { type: 'plain_text', value: String(echo.port) },
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
