/**
 * Cold start: the time from spawning a server process to the first complete response on
 * `GET /` (the runner polls every millisecond), and the CPU the server spent getting there.
 * Node and Deno run the HTTP benchmark's servers as a user's project runs them: JavaScript
 * files importing edgeio installed from its packed tarball (./installed.ts), and on Node
 * also bundled by esbuild; workerd serves each bundled worker from a minimal config, so its figure is process
 * start + isolate start + module evaluation + the first request, with an empty worker as the
 * floor. Runs alternate between servers; the first run of each is a discarded warm-up (disk
 * cache, Deno's compile cache).
 *
 *   node bench/coldstart/run.ts [--runs 10] [--runtime node --runtime deno …]
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import {
  freshPort,
  serverCpuSecondsPrecise,
  startProcess,
  stopProcess,
  untilFirstResponse,
} from '../http/process.ts'
import { DENO_ENV, type Runtime, WORKER_ENTRIES } from '../http/servers.ts'
import {
  benchDir,
  prepareWorker,
  removeBenchDirs,
  workerdArgs,
  workerdBinary,
} from '../http/workerd.ts'
import { median } from '../stats.ts'
import { installPackage } from './installed.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface ColdStartSample {
  /** Which pass: the servers of one pass ran back to back. */
  run: number
  runtime: Runtime
  server: string
  /** Spawn to first complete response. */
  wallMs: number
  /** CPU time of the server's threads until then. */
  cpuMs: number
}

interface ColdServer {
  runtime: Runtime
  server: string
  command: string
  args(port: number): string[]
  env: Record<string, string>
}

/** Every cold-start subject, in the order runs alternate within a runtime. */
async function coldServers(): Promise<ColdServer[]> {
  const nodeServer = (server: string): ColdServer => ({
    runtime: 'node',
    server,
    command: `${root}node_modules/.bin/node`,
    args: () => [`${root}bench/http/servers/${server}.ts`],
    env: {},
  })
  // As deployed: one esbuild bundle with its dependencies, no TypeScript left to strip.
  const bundledNodeServer = async (server: string): Promise<ColdServer> => {
    const outfile = join(benchDir('cold-node'), `${server}.mjs`)
    await build({
      entryPoints: [`${root}bench/http/servers/${server}.ts`],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      // CommonJS dependencies (ws) require Node's built-ins.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    })
    return { ...nodeServer(server), server: `${server}, bundled`, args: () => [outfile] }
  }
  const workerdServer = async (server: string, entry: string): Promise<ColdServer> => {
    const config = await prepareWorker(`cold-${server}`, entry)
    return {
      runtime: 'workerd',
      server,
      command: workerdBinary,
      args: (port) => workerdArgs(config, port),
      env: {},
    }
  }
  // As users install it: the packed tarball (compiled JavaScript) beside hono's package.
  const { dir } = installPackage()
  const installedServer = (runtime: 'node' | 'deno', server: string): ColdServer =>
    runtime === 'node'
      ? {
          runtime,
          server: `${server}, installed`,
          command: `${root}node_modules/.bin/node`,
          args: () => [join(dir, `node-${server}.js`)],
          env: {},
        }
      : {
          runtime,
          server: `${server}, installed`,
          command: `${root}node_modules/.bin/deno`,
          args: () => [
            'run',
            '--cached-only',
            `--config=${join(dir, 'deno.json')}`,
            '--allow-net',
            '--allow-env',
            '--allow-read',
            join(dir, `deno-${server}.js`),
          ],
          env: DENO_ENV,
        }
  return [
    nodeServer('raw'),
    installedServer('node', 'hono'),
    installedServer('node', 'edgeio'),
    await bundledNodeServer('hono'),
    await bundledNodeServer('edgeio'),
    installedServer('deno', 'hono'),
    installedServer('deno', 'edgeio'),
    await workerdServer('empty worker', 'bench/coldstart/empty-worker.ts'),
    await workerdServer('hono', WORKER_ENTRIES.hono),
    await workerdServer('edgeio', WORKER_ENTRIES.edgeio),
  ]
}

async function coldStart(subject: ColdServer, run: number): Promise<ColdStartSample> {
  const port = freshPort()
  const started = performance.now()
  const child = startProcess(subject.command, subject.args(port), {
    ...subject.env,
    PORT: String(port),
  })
  try {
    await untilFirstResponse(port, 30_000, child)
    const wallMs = performance.now() - started
    const cpuMs = serverCpuSecondsPrecise(child.pid as number) * 1000
    return { run, runtime: subject.runtime, server: subject.server, wallMs, cpuMs }
  } finally {
    await stopProcess(child)
  }
}

/** `runs` measured cold starts per server (after one warm-up each), alternating. */
export async function runColdStartBench(
  runs: number,
  runtimes: readonly Runtime[] = ['node', 'deno', 'workerd']
): Promise<ColdStartSample[]> {
  const subjects = (await coldServers()).filter((s) => runtimes.includes(s.runtime))
  const samples: ColdStartSample[] = []
  for (let run = 0; run <= runs; run++) {
    for (const subject of subjects) {
      const sample = await coldStart(subject, run)
      if (run > 0) samples.push(sample)
    }
  }
  return samples
}

/** edgeio's cold start over plain Hono's on one runtime (and variant), paired run by run. */
export interface ColdStartRatio {
  /** `node`, `node, bundled`, `deno`, `workerd`. */
  label: string
  runtime: Runtime
  wall: number
  cpu: number
}

/** Median over runs of edgeio's / Hono's wall and CPU time, for every edgeio subject. */
export function coldStartRatios(samples: readonly ColdStartSample[]): ColdStartRatio[] {
  const ratios: ColdStartRatio[] = []
  const subjects = new Set(samples.map((s) => `${s.runtime}\u0000${s.server}`))
  for (const subject of subjects) {
    const [runtime, server] = subject.split('\u0000') as [Runtime, string]
    if (!server.startsWith('edgeio')) continue
    const peer = server.replace('edgeio', 'hono')
    const paired = (metric: (s: ColdStartSample) => number) => {
      const values: number[] = []
      for (const a of samples.filter((s) => s.runtime === runtime && s.server === server)) {
        const b = samples.find((s) => s.runtime === runtime && s.server === peer && s.run === a.run)
        if (b) values.push(metric(a) / metric(b))
      }
      return values.length > 0 ? median(values) : Number.NaN
    }
    ratios.push({
      label: `${runtime}${server.slice('edgeio'.length)}`,
      runtime,
      wall: paired((s) => s.wallMs),
      cpu: paired((s) => s.cpuMs),
    })
  }
  return ratios
}

/** Markdown: per runtime and server, median (min–max) wall and CPU ms, then the ratios. */
export function coldStartTable(samples: readonly ColdStartSample[]): string {
  const ms = (values: number[]) =>
    `${median(values).toFixed(0)} (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`
  const lines = [
    '| runtime | server | spawn → first response, ms | CPU to first response, ms |',
    '| --- | --- | --- | --- |',
  ]
  const subjects = new Set(samples.map((s) => `${s.runtime}\u0000${s.server}`))
  for (const subject of subjects) {
    const [runtime, server] = subject.split('\u0000') as [Runtime, string]
    const rows = samples.filter((s) => s.runtime === runtime && s.server === server)
    lines.push(
      `| ${runtime} | ${server} | ${ms(rows.map((r) => r.wallMs))} | ${ms(rows.map((r) => r.cpuMs))} |`
    )
  }
  lines.push(
    '',
    '| edgeio / plain Hono (median of per-run pairs) | wall | CPU |',
    '| --- | --- | --- |',
    ...coldStartRatios(samples).map(
      (r) => `| ${r.label} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} |`
    )
  )
  return lines.join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      runtime: { type: 'string', multiple: true, default: ['node', 'deno', 'workerd'] },
    },
  })
  const samples = await runColdStartBench(Number(values.runs), values.runtime as Runtime[])
  removeBenchDirs()
  console.log(coldStartTable(samples))
}
