/**
 * Builds the package into dist/:
 * - JavaScript: esbuild bundles each entry with code splitting (shared code in chunks,
 *   every dependency left external), ESM, with source maps back to src/. Measured on the
 *   installed package, loading ~70 per-module files cost Node ~20 ms more at start than
 *   these few chunks (bench/coldstart); a bundler still tree-shakes the chunks' exports.
 * - Types: the native tsc, declarations only (with declaration maps), one per module
 *   under dist/types/.
 *
 * Entries sit flat in dist/ beside their chunks, so the executors' thread hosts are found
 * next to the code that starts them (see src/executor/web-worker.ts, adapters/node/executor.ts).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'dist')

/** Package entries, and the modules loaded by URL (the executors' thread hosts). */
const entries = {
  index: 'src/index.ts',
  node: 'adapters/node/index.ts',
  workers: 'adapters/workers/index.ts',
  deno: 'adapters/deno/index.ts',
  bun: 'adapters/bun/index.ts',
  redis: 'src/distributed/redis/index.ts',
  testing: 'testing/index.ts',
  prometheus: 'prometheus/index.ts',
  'executor-node': 'adapters/node/executor.ts',
  'task-host': 'src/executor/task-host.ts',
  'web-worker-host': 'src/executor/web-worker-host.ts',
}

rmSync(dist, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: Object.entries(entries).map(([out, entry]) => ({ in: entry, out })),
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2024',
  sourcemap: true,
  // Dependencies stay the user's (one hono for app and edgeio); runtime modules stay imports.
  packages: 'external',
  external: ['cloudflare:*', 'node:*'],
  logLevel: 'warning',
})

// Three passes: the Deno adapter without a check (tsc cannot load Deno's types beside the
// DOM and Node ones; `deno check` checks it in `npm run typecheck`), the Bun adapter with
// Bun's types (kept out of the others), then the rest, checked.
const tsc = join(root, 'node_modules/.bin/tsc')
for (const project of [
  'tsconfig.build-deno.json',
  'tsconfig.build-bun.json',
  'tsconfig.build.json',
]) {
  execFileSync(tsc, ['-p', join(root, project)], { stdio: 'inherit' })
}

// Declarations keep the sources' `./x.ts` specifiers, which a consumer's TypeScript
// resolves only where it allows .ts imports: make them `./x.js`. Same length, so the
// declaration maps stay exact.
const RELATIVE_TS = /(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g
for (const entry of readdirSync(join(dist, 'types'), { recursive: true, encoding: 'utf8' })) {
  if (!entry.endsWith('.d.ts')) continue
  const file = join(dist, 'types', entry)
  const text = readFileSync(file, 'utf8')
  const rewritten = text.replace(RELATIVE_TS, '$1$2$3.js$2')
  if (rewritten !== text) writeFileSync(file, rewritten)
}
