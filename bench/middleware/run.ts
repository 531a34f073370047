/**
 * Per-request overhead of each middleware on Node: the same one-route app on edgeio's Node
 * adapter, bare and behind each middleware, loaded by autocannon from a second process
 * (64 connections), configurations alternating round by round. Reports req/s and server
 * CPU per request, and each middleware's overhead against the bare app of the same round.
 *
 *   node bench/middleware/run.ts [--rounds 3] [--duration 5]
 */
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { serverCpuSeconds, startBenchServer } from '../http/process.ts'
import { load } from '../http/run.ts'
import { median } from '../stats.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
export const CONFIGS = [
  'none',
  'noop',
  'rateLimit',
  'concurrencyLimit',
  'deadline',
  'coalesce',
] as const

export interface MiddlewareSample {
  round: number
  config: (typeof CONFIGS)[number]
  requestsPerSecond: number
  cpuMicrosPerRequest: number
}

export async function runMiddlewareBench(options: {
  rounds: number
  duration: number
  warmup: number
}): Promise<MiddlewareSample[]> {
  const samples: MiddlewareSample[] = []
  let port = 19_300
  const route = { name: 'GET /', path: '/' } as const
  for (let round = 1; round <= options.rounds; round++) {
    for (const config of CONFIGS) {
      const child = await startBenchServer(`${root}bench/middleware/server.ts`, ++port, {
        MIDDLEWARE: config,
      })
      await load(port, route, options.warmup, 64)
      const before = serverCpuSeconds(child.pid as number)
      const result = await load(port, route, options.duration, 64)
      const cpu = serverCpuSeconds(child.pid as number) - before
      samples.push({
        round,
        config,
        requestsPerSecond: result.rps,
        cpuMicrosPerRequest: (cpu / result.requests) * 1e6,
      })
      process.stderr.write(`round ${round} ${config.padEnd(16)} ${Math.round(result.rps)} req/s\n`)
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
  return samples
}

/** Markdown: per configuration, medians and the median of per-round overheads vs bare. */
export function middlewareTable(samples: readonly MiddlewareSample[]): string {
  const lines = [
    '| middleware | req/s | CPU µs/req | CPU overhead vs bare | throughput cost vs bare | CPU overhead vs noop |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const config of CONFIGS) {
    const rows = samples.filter((s) => s.config === config)
    const cpuOverhead: number[] = []
    const rpsCost: number[] = []
    // Above the floor every middleware pays in Hono (see `noop` in apps.ts).
    const cpuOverNoop: number[] = []
    for (const row of rows) {
      const bare = samples.find((s) => s.round === row.round && s.config === 'none')
      const noop = samples.find((s) => s.round === row.round && s.config === 'noop')
      if (noop) cpuOverNoop.push(row.cpuMicrosPerRequest / noop.cpuMicrosPerRequest - 1)
      if (!bare) continue
      cpuOverhead.push(row.cpuMicrosPerRequest / bare.cpuMicrosPerRequest - 1)
      rpsCost.push(1 - row.requestsPerSecond / bare.requestsPerSecond)
    }
    const pct = (values: number[]) =>
      config === 'none' || values.length === 0 ? '—' : `${(median(values) * 100).toFixed(1)} %`
    lines.push(
      `| ${config} | ${Math.round(median(rows.map((r) => r.requestsPerSecond)))} | ${median(
        rows.map((r) => r.cpuMicrosPerRequest)
      ).toFixed(1)} | ${pct(cpuOverhead)} | ${pct(rpsCost)} | ${
        config === 'noop' ? '—' : pct(cpuOverNoop)
      } |`
    )
  }
  return lines.join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
    },
  })
  const samples = await runMiddlewareBench({
    rounds: Number(values.rounds),
    duration: Number(values.duration),
    warmup: 1,
  })
  console.log(middlewareTable(samples))
}
