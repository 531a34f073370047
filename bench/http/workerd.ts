/**
 * A worker served by workerd itself: bundled by esbuild as wrangler bundles it, described by
 * a minimal Cap'n Proto config (one service, one HTTP socket) and run with `workerd serve`.
 * Nothing sits between the load generator and the worker: no wrangler proxy worker, no
 * Miniflare entry worker. The measured process is workerd.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../../', import.meta.url))
export const workerdBinary = `${root}node_modules/@cloudflare/workerd-linux-64/bin/workerd`

/** The project's compatibility date; nodejs_compat is the default from this date on. */
const COMPATIBILITY_DATE = '2026-11-01'
const COMPATIBILITY_FLAGS = ['enable_request_signal']

let workDir: string | undefined

/** A fresh directory under the benchmark's temporary one (made on first use). */
export function benchDir(name: string): string {
  workDir ??= mkdtempSync(join(tmpdir(), 'edgeio-bench-'))
  const dir = join(workDir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}

/** Removes the benchmark's temporary directory (bundles, configs). */
export function removeBenchDirs(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true })
  workDir = undefined
}

/** Bundles `entry` (relative to the repository) and writes its config; the config's path. */
export async function prepareWorker(name: string, entry: string): Promise<string> {
  const dir = benchDir(name)
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(dir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2024',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*', 'node:*'],
    mainFields: ['browser', 'module', 'main'],
    logLevel: 'silent',
  })
  const config = join(dir, 'config.capnp')
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = [${COMPATIBILITY_FLAGS.map((flag) => `"${flag}"`).join(', ')}],
);
`
  )
  return config
}

/** `workerd serve` arguments for `config` listening on `port`. */
export const workerdArgs = (config: string, port: number): string[] => [
  'serve',
  config,
  '--socket-addr',
  `http=127.0.0.1:${port}`,
]
