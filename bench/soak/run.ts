/**
 * Soak: edgeio's Node server under continuous load (POST /echo, the route that allocates
 * most: a body read, parsed and re-serialised) for `seconds`, its RSS sampled every
 * `every` seconds. A leak shows as RSS that keeps climbing once the JIT and the heap have
 * settled; the verdict compares the sample at a third of the run with the last one and
 * asks whether RSS kept rising in between (see soakVerdict).
 *
 *   node bench/soak/run.ts [--seconds 60] [--every 5]
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { freshPort, rssMiB, startBenchServer, stopProcess } from '../http/process.ts'
import { load, ROUTES } from '../http/run.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface SoakResult {
  seconds: number
  route: string
  requests: number
  errors: number
  /** [seconds since the load started, RSS MiB], first at 0 (before load). */
  curve: [number, number][]
}

/** Growth above this share of the settled RSS counts as growth. */
const GROWTH_TOLERANCE = 0.05

export async function runSoak(seconds: number, every: number): Promise<SoakResult> {
  const port = freshPort()
  const child = await startBenchServer(`${root}bench/http/servers/edgeio.ts`, port)
  const pid = child.pid as number
  const route = ROUTES[2]
  const curve: [number, number][] = [[0, rssMiB(pid)]]
  const started = performance.now()
  const sampler = setInterval(() => {
    const at = Math.round((performance.now() - started) / 1000)
    curve.push([at, rssMiB(pid)])
  }, every * 1000)
  try {
    const result = await load(port, route, seconds, 64)
    return { seconds, route: route.name, requests: result.requests, errors: result.errors, curve }
  } finally {
    clearInterval(sampler)
    await stopProcess(child)
  }
}

/**
 * The settled sample (a third into the run) and the last. RSS `grew` when it rose by more
 * than the tolerance in between *and* kept rising (in at least half of the intervals): a
 * leak climbs steadily, while V8 enlarging its heap once shows as a single step.
 */
export function soakVerdict(result: SoakResult): {
  from: [number, number]
  to: [number, number]
  /** Intervals after the settled sample in which RSS rose by more than 1 %. */
  rising: number
  intervals: number
  grew: boolean
} {
  const under = result.curve.filter(([at]) => at > 0)
  const start = Math.max(
    0,
    under.findIndex(([at]) => at >= result.seconds / 3)
  )
  const settled = under.slice(start)
  const from = settled[0] ?? [0, 0]
  const to = settled.at(-1) ?? from
  let rising = 0
  for (let i = 1; i < settled.length; i++) {
    if ((settled[i]?.[1] ?? 0) > (settled[i - 1]?.[1] ?? 0) * 1.01) rising++
  }
  const intervals = Math.max(0, settled.length - 1)
  const exceeded = to[1] - from[1] > from[1] * GROWTH_TOLERANCE
  return { from, to, rising, intervals, grew: exceeded && rising * 2 >= intervals }
}

/** Markdown: the RSS curve as a table and a one-line verdict. */
export function soakReport(result: SoakResult): string {
  const { from, to, rising, intervals, grew } = soakVerdict(result)
  const change = to[1] - from[1]
  const exceeded = change > from[1] * GROWTH_TOLERANCE
  return [
    `| s | ${result.curve.map(([at]) => at).join(' | ')} |`,
    `| --- | ${result.curve.map(() => '---').join(' | ')} |`,
    `| RSS MiB | ${result.curve.map(([, rss]) => rss.toFixed(1)).join(' | ')} |`,
    '',
    `${result.requests} requests (${result.route}), ${result.errors} errors. From ${from[0]} s to ${to[0]} s RSS went ` +
      `${change >= 0 ? '+' : ''}${change.toFixed(1)} MiB (${((change / from[1]) * 100).toFixed(1)} %), rising in ${rising} of ${intervals} intervals: ` +
      (grew
        ? `**steady growth** above the ${GROWTH_TOLERANCE * 100} % tolerance — investigate for a leak.`
        : exceeded
          ? `above the ${GROWTH_TOLERANCE * 100} % tolerance but in ${rising === 1 ? 'one step' : 'steps'}, not a steady climb (V8 enlarging its heap looks like this; a leak keeps rising). A longer soak would settle it.`
          : `no growth (within ${GROWTH_TOLERANCE * 100} %).`),
  ].join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      every: { type: 'string', default: '5' },
    },
  })
  console.log(soakReport(await runSoak(Number(values.seconds), Number(values.every))))
}
