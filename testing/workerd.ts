/**
 * workerd: the project's own wrangler configuration served by wrangler's dev server
 * (`unstable_startWorker`), so KV, Durable Objects, Queues and static assets are simulated
 * locally by Miniflare exactly as `wrangler dev` does, and reached over real HTTP. Not
 * `@cloudflare/vitest-plugin`'s in-runner fetch: it cancels a request that waits on another
 * one (a lock, a coalesced response), which workerd proper serves.
 */
import { resolve } from 'node:path'
import type { RunningRuntime } from './running.ts'
import type { TestServiceOptions } from './types.ts'

type Wrangler = typeof import('wrangler')

export async function startWorkerd(
  options: TestServiceOptions,
  env: Record<string, string>
): Promise<RunningRuntime> {
  // Nothing may reach the network: no request.cf download, no metrics.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'
  process.env.WRANGLER_SEND_METRICS ??= 'false'
  let wrangler: Wrangler
  try {
    wrangler = await import('wrangler')
  } catch (error) {
    throw new Error('edgeio/testing: workerd needs wrangler: npm install -D wrangler', {
      cause: error,
    })
  }
  const cwd = options.cwd ?? process.cwd()
  const worker = await wrangler.unstable_startWorker({
    config: resolve(cwd, options.wrangler ?? 'wrangler.toml'),
    bindings: Object.fromEntries(
      Object.entries(env).map(([name, value]) => [name, { type: 'plain_text', value }])
    ),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      logLevel: options.workerdLogLevel ?? 'error',
    },
  })
  try {
    await worker.ready
    const url = (await worker.url).href
    return { url, logs: () => '', close: () => worker.dispose() }
  } catch (error) {
    await worker.dispose().catch(() => {})
    throw error
  }
}
