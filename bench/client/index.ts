/**
 * CPU per call of `client.fetch` against bare `fetch` and ky used directly (a devDependency)
 * to a local upstream on Node — issue #17's overhead targets: ≤ 1.05 × bare
 * fetch, ≤ 1.0 × ky — and of the client on its own undici keep-alive pool (`nodeFetch`,
 * edgeio/node) against undici's `fetch` on the same kind of `Agent` used directly.
 *
 * How, so that a 2-core machine shared with other work still gives steady ratios:
 * - one upstream, in a child process (its CPU is not counted), keep-alive, for every variant;
 * - CPU is `process.cpuUsage()` of this process (all its threads: GC helpers included) over
 *   `--calls` calls, 8 at a time, each body read;
 * - a young-generation GC before each round, outside the measure, and one at its end, inside
 *   it: each round pays for the garbage it made, not for the previous variant's (needs
 *   `--expose-gc`; without it the rounds are longer instead). The forced GC costs every
 *   round the same fixed ~0.1 ms, which pulls ratios towards 1 by under 1 %;
 * - many short rounds, the variants taking turns in a rotated order within each round, and
 *   each ratio the median of the per-round ratios (variants measured a fraction of a
 *   second apart see the same neighbours); the spread given is the interquartile range of
 *   those ratios. A single round swings ±20 % on a busy 2-core machine; the median of 101
 *   stays within a few percent from run to run.
 *
 *   node --expose-gc bench/client/index.ts [--calls 500] [--rounds 101] [--json]
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { nodeFetch } from '../../adapters/node/client-pool.ts'
import { createClient } from '../../src/client/index.ts'
import { median } from '../stats.ts'

type Call = (url: string) => Promise<void>

export interface ClientBenchRow {
  variant: string
  /** Median CPU µs per call. */
  cpuPerCall: number
  /** Median of the per-round ratios against bare fetch. */
  vsFetch: number
  /** Interquartile range of those ratios. */
  vsFetchIqr: [number, number]
  /** The same against ky used directly (undefined when ky is not installed). */
  vsKy: number | undefined
  /** Against undici's fetch on its own Agent, for the pooled rows (else undefined). */
  vsUndici: number | undefined
}

export interface ClientBenchOptions {
  calls?: number
  rounds?: number
  concurrency?: number
}

/** Connections per origin of the pooled variants, and the configured client's perHost. */
const POOL = 16
const FETCH = 'fetch'
const KY = 'ky'
const UNDICI = 'undici fetch + Agent (no client)'

interface Variants {
  calls: Record<string, Call>
  close(): Promise<void>
}

async function variants(): Promise<Variants> {
  const plain = createClient()
  const configured = createClient({
    limit: { total: 100, perHost: POOL },
    timeout: { total: 10_000, attempt: 5_000 },
    retry: { limit: 2 },
    circuit: true,
  })
  const pooled = createClient({ limit: { perHost: POOL }, fetch: nodeFetch({ connections: POOL }) })
  const undici = await import('undici')
  const agent = new undici.Agent({ connections: POOL, keepAliveTimeout: 4_000 })
  const calls: Record<string, Call> = {
    [FETCH]: async (url) => {
      await (await fetch(url)).text()
    },
    'client (defaults)': async (url) => {
      await (await plain.fetch(url)).text()
    },
    'client (limits, timeouts, retry, circuit)': async (url) => {
      await (await configured.fetch(url)).text()
    },
    [UNDICI]: async (url) => {
      await (await undici.fetch(url, { dispatcher: agent })).text()
    },
    [`client on nodeFetch (undici pool, perHost ${POOL})`]: async (url) => {
      await (await pooled.fetch(url)).text()
    },
  }
  // ky is a devDependency for this comparison only (the client does not build on it:
  // docs/client.md says why); a checkout without it still runs the other variants.
  try {
    const name = 'ky'
    const ky = ((await import(name)) as { default: KyLike }).default.create({
      retry: { limit: 2 },
      timeout: 5_000,
      throwHttpErrors: false,
    })
    calls[KY] = async (url) => {
      await (await ky(url)).text()
    }
  } catch {
    // not installed
  }
  return {
    calls,
    close: async () => {
      await Promise.all([plain.close(), configured.close(), pooled.close(), agent.close()])
    },
  }
}

interface KyLike {
  create(options: object): (url: string) => Promise<Response>
}

type Gc = (options?: { type: 'minor' | 'major'; execution: 'sync' }) => void
const gc = (globalThis as { gc?: Gc }).gc

async function round(call: Call, url: string, calls: number, concurrency: number) {
  gc?.({ type: 'minor', execution: 'sync' })
  let next = 0
  const before = process.cpuUsage()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) await call(url)
    })
  )
  gc?.({ type: 'minor', execution: 'sync' })
  const used = process.cpuUsage(before)
  return (used.user + used.system) / calls
}

function quartiles(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
  return [at(0.25) as number, at(0.75) as number]
}

/** Runs the bench: one upstream child, all variants interleaved. */
export async function runClientBench(options: ClientBenchOptions = {}): Promise<ClientBenchRow[]> {
  const calls = options.calls ?? (gc === undefined ? 2_000 : 500)
  const rounds = options.rounds ?? 101
  const concurrency = options.concurrency ?? 8
  const child: ChildProcess = fork(fileURLToPath(new URL('./upstream.ts', import.meta.url)), {
    execArgv: [],
  })
  const all = await variants()
  try {
    const port = await new Promise<number>((resolve) => child.once('message', resolve))
    const url = `http://127.0.0.1:${port}/`
    const names = Object.keys(all.calls)
    for (const name of names) await round(all.calls[name] as Call, url, calls, concurrency) // warm-up
    const samples = new Map<string, number[]>(names.map((n) => [n, []]))
    for (let r = 0; r < rounds; r++) {
      // Rotate the order, so that no variant always runs right after the same one.
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length] as string
        samples.get(name)?.push(await round(all.calls[name] as Call, url, calls, concurrency))
      }
    }
    const ratios = (a: string, b: string): number[] | undefined => {
      const xs = samples.get(a)
      const ys = samples.get(b)
      if (xs === undefined || ys === undefined) return undefined
      return xs.map((x, i) => x / (ys[i] as number))
    }
    const med = (xs: number[] | undefined) => (xs === undefined ? undefined : median(xs))
    return names.map((variant) => {
      const vsFetch = ratios(variant, FETCH) as number[]
      const pooled = variant.includes('nodeFetch')
      return {
        variant,
        cpuPerCall: median(samples.get(variant) ?? []),
        vsFetch: median(vsFetch),
        vsFetchIqr: quartiles(vsFetch),
        vsKy: med(ratios(variant, KY)),
        vsUndici: pooled ? med(ratios(variant, UNDICI)) : undefined,
      }
    })
  } finally {
    await all.close()
    child.disconnect()
  }
}

/** A Markdown table of the rows. */
export function clientTable(rows: readonly ClientBenchRow[]): string {
  const ratio = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(3))
  const lines = [
    '| variant | CPU µs / call | × bare fetch (IQR) | × ky | × undici + Agent |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.cpuPerCall.toFixed(1)} | ${r.vsFetch.toFixed(3)} (${r.vsFetchIqr[0].toFixed(2)}–${r.vsFetchIqr[1].toFixed(2)}) | ${ratio(r.vsKy)} | ${ratio(r.vsUndici)} |`
    ),
  ]
  return lines.join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string' },
      rounds: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const rows = await runClientBench({
    calls: values.calls === undefined ? undefined : Number(values.calls),
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
  })
  console.log(values.json ? JSON.stringify(rows) : clientTable(rows))
}
