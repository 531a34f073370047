/**
 * Markdown and ratios for BENCHMARKS.md from the HTTP samples. Every ratio reads "above 1.0:
 * edgeio ahead" so one chart can show them all: throughput is edgeio's over the peer's, a
 * cost (CPU, instructions) is the peer's over edgeio's.
 */
import { ROUTES, type Sample } from './http/run.ts'
import { median, spread } from './stats.ts'

export interface Ratio {
  route: string
  metric: 'req/s' | 'CPU/req' | 'instructions/req'
  peer: string
  /** Median of per-round ratios, oriented so that above 1.0 is edgeio ahead. */
  value: number
  target?: number
}

/** The servers of `samples` in the order they first appear. */
const serversIn = (samples: readonly Sample[]) => [...new Set(samples.map((s) => s.server))]

/** Per route: each server's req/s, CPU per request, p99 and RSS as median (min–max). */
export function httpTable(samples: readonly Sample[]): string {
  const counted = samples.some((s) => s.instructionsPerRequest !== undefined)
  const errors = samples.some((s) => s.errors > 0)
  const lines = [
    `| route | server | req/s | CPU µs/req |${counted ? ' instructions/req |' : ''} p99 ms | RSS MiB |${errors ? ' errors |' : ''}`,
    `| --- | --- | --- | --- |${counted ? ' --- |' : ''} --- | --- |${errors ? ' --- |' : ''}`,
  ]
  for (const route of ROUTES) {
    for (const server of serversIn(samples)) {
      const rows = samples.filter((s) => s.route === route.name && s.server === server)
      if (rows.length === 0) continue
      const instructions = rows.map((r) => r.instructionsPerRequest ?? 0)
      lines.push(
        `| ${route.name} | ${server} | ${spread(
          rows.map((r) => r.requestsPerSecond),
          (n) => String(Math.round(n))
        )} | ${spread(
          rows.map((r) => r.cpuMicrosPerRequest),
          (n) => n.toFixed(1)
        )} |${counted ? ` ${spread(instructions, (n) => `${(n / 1000).toFixed(1)} k`)} |` : ''} ${median(
          rows.map((r) => r.p99Ms)
        )} | ${median(rows.map((r) => r.rssMiB)).toFixed(0)} |${
          errors ? ` ${rows.reduce((sum, r) => sum + r.errors, 0)} |` : ''
        }`
      )
    }
  }
  return lines.join('\n')
}

/** Median over rounds of metric(a) / metric(b), pairing samples of the same round. */
export function pairedRatio(
  samples: readonly Sample[],
  route: string,
  a: string,
  b: string,
  metric: (s: Sample) => number
): number {
  const ratios: number[] = []
  for (const round of new Set(samples.map((s) => s.round))) {
    const x = samples.find((s) => s.round === round && s.route === route && s.server === a)
    const y = samples.find((s) => s.round === round && s.route === route && s.server === b)
    if (x && y) ratios.push(metric(x) / metric(y))
  }
  return ratios.length > 0 ? median(ratios) : Number.NaN
}

/**
 * edgeio against each peer, per route: req/s against every peer (target ≥ 0.95 against raw
 * node:http), CPU per request (and instructions, where counted) against Hono (target
 * ≤ 1.05 × Hono's on Node).
 */
export function httpRatios(samples: readonly Sample[], peers: readonly string[]): Ratio[] {
  const ratios: Ratio[] = []
  const onNode = samples.some((s) => s.runtime === 'node')
  const counted = samples.some((s) => s.instructionsPerRequest !== undefined)
  for (const { name: route } of ROUTES) {
    for (const peer of peers) {
      ratios.push({
        route,
        metric: 'req/s',
        peer,
        value: pairedRatio(samples, route, 'edgeio', peer, (s) => s.requestsPerSecond),
        ...(peer === 'raw' ? { target: 0.95 } : {}),
      })
    }
    ratios.push({
      route,
      metric: 'CPU/req',
      peer: 'hono',
      value: pairedRatio(samples, route, 'hono', 'edgeio', (s) => s.cpuMicrosPerRequest),
      ...(onNode ? { target: 1 / 1.05 } : {}),
    })
    if (counted) {
      ratios.push({
        route,
        metric: 'instructions/req',
        peer: 'hono',
        value: pairedRatio(samples, route, 'hono', 'edgeio', (s) => s.instructionsPerRequest ?? 0),
      })
    }
  }
  return ratios
}

/** edgeio's RSS over plain Hono's after the last route's load, median of per-round pairs. */
export function memoryRatio(samples: readonly Sample[]): number {
  const last = ROUTES[ROUTES.length - 1]?.name ?? ''
  return pairedRatio(samples, last, 'edgeio', 'hono', (s) => s.rssMiB)
}

export interface TargetRow {
  target: string
  measured: string
  holds: boolean
}

export function targetsTable(rows: readonly TargetRow[]): string {
  return [
    '| target | measured | holds |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.target} | ${r.measured} | ${r.holds ? 'yes' : '**no**'} |`),
  ].join('\n')
}
