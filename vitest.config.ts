import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// Nothing may reach the network during tests: no request.cf download, no metrics, no
// update checks (the spawned deno and wrangler processes inherit these).
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false'
process.env.WRANGLER_SEND_METRICS = 'false'
process.env.DENO_NO_UPDATE_CHECK = '1'
process.env.DENO_NO_PROMPT = '1'

// Two projects: plain Node (unit tests, and the conformance suite driving the Node, Deno
// and Bun servers over real sockets) and workerd (the same cases and the primitives inside the
// Workers runtime, through the root wrangler.toml).
export default defineConfig({
  test: {
    reporters: ['default', './test/conformance/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'node',
          // adapters/workers/index.ts extends workerd's DurableObject; its Node-side unit tests
          // load it against a stand-in base class.
          alias: {
            'cloudflare:workers': new URL('./test/stubs/cloudflare-workers.ts', import.meta.url)
              .pathname,
          },
          include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
          // `*.deno.test.ts`: run by `npm run test:deno` only (vitest mapped to a shim).
          exclude: [
            'test/workerd/**',
            'test/package/**',
            '**/*.deno.test.ts',
            '**/node_modules/**',
          ],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The consumer tests: the packed package installed into throw-away projects. Its own
        // project, so that only runs that include it pack (and so build) the package.
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['./test/package/pack.ts'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { API_TOKEN: 'workerd-conformance-token', LOG_LEVEL: 'silent' },
            },
          }),
        ],
        test: {
          name: 'workerd',
          include: ['test/workerd/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        // The primitives' unit and model-based tests inside workerd (where keep-alive timers
        // are on). The concurrent-request tests (test/sync/workerd-concurrency.test.ts) run in
        // the node project: they start a real workerd, see that file for why.
        plugins: [
          cloudflareTest({ wrangler: { configPath: './test/workerd/sync/wrangler.toml' } }),
        ],
        test: {
          name: 'workerd-sync',
          include: ['test/sync/*.test.ts', 'test/tasks/*.test.ts'],
          exclude: ['test/sync/memory.test.ts', 'test/sync/workerd-concurrency.test.ts'],
          testTimeout: 20_000,
        },
      },
    ],
  },
})
