/**
 * `npm run bench`: runs every benchmark side by side with its peers and rewrites
 * BENCHMARKS.md (tables, ratios) and bench/ratios.svg (the ratios at a glance).
 *
 *   node bench/index.ts [--rounds 3] [--duration 5]
 *   node bench/index.ts --quick     (1 short round, prints the report, writes nothing)
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type BundleSize, runBundleBench } from './bundle/run.ts'
import { type RatioBar, ratioChart } from './chart.ts'
import { ROUTES, runHttpBench, type Sample, SERVERS } from './http/run.ts'
import { middlewareTable, runMiddlewareBench } from './middleware/run.ts'
import { median, spread } from './stats.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
  },
})
const options = values.quick
  ? { rounds: 1, duration: 1, warmup: 0.5, connections: 64 }
  : { rounds: Number(values.rounds), duration: Number(values.duration), warmup: 1, connections: 64 }

const version = (name: string) =>
  (
    JSON.parse(readFileSync(`${root}node_modules/${name}/package.json`, 'utf8')) as {
      version: string
    }
  ).version
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

function machine(): string {
  const taskset = (() => {
    try {
      execFileSync('taskset', ['-c', '0', 'true'])
      return 'server pinned to core 0, load generator to core 1 (taskset)'
    } catch {
      return 'no taskset: server and load generator share the cores'
    }
  })()
  return [
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${taskset}`,
    `- Node ${process.versions.node}; hono ${version('hono')}, @hono/node-server ${version('@hono/node-server')}, fastify ${version('fastify')}, autocannon ${version('autocannon')}, esbuild ${version('esbuild')}`,
    `- Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`node bench/index.ts --rounds ${options.rounds} --duration ${options.duration}\`${values.quick ? ' (quick: too short to quote)' : ''}`,
  ].join('\n')
}

/** Per route: each server's req/s, CPU per request, p99 and RSS as median (min–max). */
function httpTable(samples: readonly Sample[]): string {
  const lines = [
    '| route | server | req/s | CPU µs/req | p99 ms | RSS MiB |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const route of ROUTES) {
    for (const server of SERVERS) {
      const rows = samples.filter((s) => s.route === route.name && s.server === server)
      if (rows.length === 0) continue
      lines.push(
        `| ${route.name} | ${server} | ${spread(
          rows.map((r) => r.requestsPerSecond),
          (n) => String(Math.round(n))
        )} | ${spread(
          rows.map((r) => r.cpuMicrosPerRequest),
          (n) => n.toFixed(1)
        )} | ${median(rows.map((r) => r.p99Ms))} | ${median(rows.map((r) => r.rssMiB)).toFixed(0)} |`
      )
    }
  }
  return lines.join('\n')
}

/** Medians of per-round ratios, pairing servers measured in the same round. */
function pairedRatio(
  samples: readonly Sample[],
  route: string,
  a: Sample['server'],
  b: Sample['server'],
  metric: (s: Sample) => number
): number {
  const ratios: number[] = []
  for (const round of new Set(samples.map((s) => s.round))) {
    const x = samples.find((s) => s.round === round && s.route === route && s.server === a)
    const y = samples.find((s) => s.round === round && s.route === route && s.server === b)
    if (x && y) ratios.push(metric(x) / metric(y))
  }
  return median(ratios)
}

function httpRatios(samples: readonly Sample[]): RatioBar[] {
  const bars: RatioBar[] = []
  for (const route of ROUTES) {
    const rps = (s: Sample) => s.requestsPerSecond
    bars.push({
      label: `${route.name}: req/s vs raw node:http`,
      ratio: pairedRatio(samples, route.name, 'edgeio', 'raw', rps),
      target: 0.95,
    })
    bars.push({
      label: `${route.name}: req/s vs Hono`,
      ratio: pairedRatio(samples, route.name, 'edgeio', 'hono', rps),
    })
    bars.push({
      label: `${route.name}: req/s vs fastify`,
      ratio: pairedRatio(samples, route.name, 'edgeio', 'fastify', rps),
    })
    // CPU: the peer's CPU per request over edgeio's, so that above 1.0 is edgeio ahead too.
    bars.push({
      label: `${route.name}: CPU efficiency vs Hono`,
      ratio: pairedRatio(samples, route.name, 'hono', 'edgeio', (s) => s.cpuMicrosPerRequest),
      target: 1 / 1.05,
    })
  }
  return bars
}

function bundleTable(sizes: readonly BundleSize[]): string {
  return [
    '| bundle | minified | gzip | of which edgeio (minified) |',
    '| --- | --- | --- | --- |',
    ...sizes.map(
      (s) => `| ${s.name} | ${kib(s.minifiedBytes)} | ${kib(s.gzipBytes)} | ${kib(s.edgeioBytes)} |`
    ),
  ].join('\n')
}

/** The primitives benchmark (bench/primitives/run.ts) on one pinned core; its markdown. */
function runPrimitivesBench(): string {
  const script = [
    '--expose-gc',
    `${root}bench/primitives/run.ts`,
    ...(values.quick ? ['--quick', '--runs', '1', '--procs', '1'] : []),
  ]
  const pinned = (() => {
    try {
      execFileSync('taskset', ['-c', '1', 'true'])
      return true
    } catch {
      return false
    }
  })()
  const [command, args] = pinned
    ? ['taskset', ['-c', '1', process.execPath, ...script]]
    : [process.execPath, script]
  return execFileSync(command as string, args as string[], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

const bundles = await runBundleBench()
const primitives = runPrimitivesBench()
const samples = await runHttpBench(options)
const middleware = await runMiddlewareBench(options)
const ratios = httpRatios(samples)
const chart = ratioChart('edgeio / peer (above 1.0: edgeio ahead)', ratios)
const [plain, withEdgeio] = bundles
const report = `# Benchmarks

Written by \`npm run bench\` (bench/index.ts); do not edit by hand.

${machine()}

![edgeio / peer ratios](bench/ratios.svg)

## HTTP on Node

The same three routes served by raw \`node:http\` (Content-Length, not chunked), Hono on
\`@hono/node-server\`, fastify, and edgeio's Node adapter (lifecycle, \`waitUntil\`
tracking, disconnect signal and signal handlers on). autocannon loads each from a second
process, ${options.connections} connections, ${options.warmup} s warm-up then ${options.duration} s measured, servers
alternating round by round over ${options.rounds} round(s). CPU per request is the server's
user + system time over the measured requests. Medians, with min–max.

${httpTable(samples)}

Ratios (medians of per-round pairs; above 1.0 means edgeio is ahead):

| row | ratio | target |
| --- | --- | --- |
${ratios.map((bar) => `| ${bar.label} | ${bar.ratio.toFixed(2)} | ${bar.target === undefined ? '' : `≥ ${bar.target.toFixed(2)}`} |`).join('\n')}

## Middleware overhead on Node

One JSON route on edgeio's Node adapter, bare and behind each middleware (limits far above
the load; coalesce with a distinct key per request, its no-sharing worst case), same load
as above. Overheads are medians of per-round pairs with the bare app (goal: < 5 % each).

${middlewareTable(middleware)}

## Workers bundle

Built as wrangler builds it (esbuild, ESM, workerd conditions), minified; gzip by zlib.

${bundleTable(bundles)}

edgeio's Service and Workers adapter add ${plain && withEdgeio ? `${withEdgeio.gzipBytes - plain.gzipBytes} B gzip` : '?'} to a plain Hono worker (target: ≤ 5 KiB).

## Primitives

Side by side with async-mutex, async-sema, p-limit, p-queue and async-channel, each
(row, library) in fresh processes on one pinned core (\`npm run bench:primitives\` alone).
Target: ≥ 1.5× the best peer on every row, ≤ 250 B per pending waiter.

${primitives}
`
// A quick run checks that the harness works; its figures are too short to keep.
if (!values.quick) {
  writeFileSync(`${root}bench/ratios.svg`, chart)
  writeFileSync(`${root}BENCHMARKS.md`, report)
}
console.log(report)
