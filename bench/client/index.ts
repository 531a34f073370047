/**
 * CPU per call of `client.fetch` against bare `fetch` (and ky used directly, when it is
 * installed) to a local upstream on Node — issue #17's overhead targets: ≤ 1.05 × bare
 * fetch, ≤ 1.0 × ky. CPU is `process.cpuUsage()` of this process only (the upstream runs in
 * a child) over N calls, 8 at a time, each body read; the variants take turns round after
 * round and each ratio is the median of the per-round ratios.
 *
 *   node bench/client/index.ts [--calls 2000] [--rounds 9]
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createClient } from '../../src/client/index.ts'
import { median } from '../stats.ts'

type Call = (url: string) => Promise<void>

export interface ClientBenchRow {
  variant: string
  /** Median CPU µs per call. */
  cpuPerCall: number
  /** Median of the per-round ratios against bare fetch. */
  vsFetch: number
  /** The same against ky used directly (undefined when ky is not installed). */
  vsKy: number | undefined
}

export interface ClientBenchOptions {
  calls?: number
  rounds?: number
  concurrency?: number
}

async function variants(): Promise<Record<string, Call>> {
  const plain = createClient()
  const configured = createClient({
    limit: { total: 100, perHost: 16 },
    timeout: { total: 10_000, attempt: 5_000 },
    retry: { limit: 2 },
    circuit: true,
  })
  const out: Record<string, Call> = {
    fetch: async (url) => {
      await (await fetch(url)).text()
    },
    'client (defaults)': async (url) => {
      await (await plain.fetch(url)).text()
    },
    'client (limits, timeouts, retry, circuit)': async (url) => {
      await (await configured.fetch(url)).text()
    },
  }
  // ky is not a dependency (docs/client.md says why); compared when present.
  try {
    const name = 'ky'
    const ky = ((await import(name)) as { default: KyLike }).default.create({
      retry: { limit: 2 },
      timeout: 5_000,
      throwHttpErrors: false,
    })
    out.ky = async (url) => {
      await (await ky(url)).text()
    }
  } catch {
    // not installed
  }
  return out
}

interface KyLike {
  create(options: object): (url: string) => Promise<Response>
}

async function round(call: Call, url: string, calls: number, concurrency: number) {
  let next = 0
  const before = process.cpuUsage()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) await call(url)
    })
  )
  const used = process.cpuUsage(before)
  return (used.user + used.system) / calls
}

/** Runs the bench: one upstream child, all variants interleaved. */
export async function runClientBench(options: ClientBenchOptions = {}): Promise<ClientBenchRow[]> {
  const calls = options.calls ?? 2_000
  const rounds = options.rounds ?? 9
  const concurrency = options.concurrency ?? 8
  const child: ChildProcess = fork(fileURLToPath(new URL('./upstream.ts', import.meta.url)))
  try {
    const port = await new Promise<number>((resolve) => child.once('message', resolve))
    const url = `http://127.0.0.1:${port}/`
    const all = await variants()
    const names = Object.keys(all)
    for (const name of names) await round(all[name] as Call, url, calls / 2, concurrency) // warm-up
    const samples = new Map<string, number[]>(names.map((n) => [n, []]))
    for (let r = 0; r < rounds; r++) {
      // Rotate the order, so that no variant always runs right after the same one.
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length] as string
        samples.get(name)?.push(await round(all[name] as Call, url, calls, concurrency))
      }
    }
    const ratio = (a: string, b: string): number | undefined => {
      const xs = samples.get(a)
      const ys = samples.get(b)
      if (xs === undefined || ys === undefined) return undefined
      return median(xs.map((x, i) => x / (ys[i] as number)))
    }
    return names.map((variant) => ({
      variant,
      cpuPerCall: median(samples.get(variant) ?? []),
      vsFetch: ratio(variant, 'fetch') as number,
      vsKy: ratio(variant, 'ky'),
    }))
  } finally {
    child.disconnect()
  }
}

/** A Markdown table of the rows. */
export function clientTable(rows: readonly ClientBenchRow[]): string {
  const lines = [
    '| variant | CPU µs / call | × bare fetch | × ky |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.cpuPerCall.toFixed(1)} | ${r.vsFetch.toFixed(3)} | ${r.vsKy === undefined ? '—' : r.vsKy.toFixed(3)} |`
    ),
  ]
  return lines.join('\n')
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { calls: { type: 'string' }, rounds: { type: 'string' } },
  })
  const rows = await runClientBench({
    calls: values.calls === undefined ? undefined : Number(values.calls),
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
  })
  console.log(clientTable(rows))
}
