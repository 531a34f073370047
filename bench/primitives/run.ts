// Side-by-side benchmark of edgeio's primitives and their npm peers, in one process.
//
//   taskset -c 1 node --expose-gc bench/primitives/run.ts [--runs 5] [--procs 3] [--quick]
//
// Rows: uncontended lock, contended lock (100 tasks), semaphore 10 permits / 1,000 tasks,
// bounded queue 1 producer / 4 consumers / 10⁶ items, heap per pending waiter. Every
// (row, library) runs in fresh processes, each doing one warm-up and `--runs` timed runs
// (default 5), so that one library's JIT state or garbage cannot tax another's. Time is CPU
// time, and the libraries alternate in `--procs` rounds (default 3) of one process each:
// the ops/s column is the median of all runs, the ratio to the best peer the median of the
// rounds' ratios, so that a busy spell of a shared machine does not fall on one library
// alone. edgeio is also measured with the workerd keep-alive timers forced on
// (`configurePrimitives`).
import { execFileSync } from 'node:child_process'
import { Channel } from 'async-channel'
import { Semaphore as AmSemaphore, Mutex } from 'async-mutex'
import { Sema } from 'async-sema'
import pLimit from 'p-limit'
import PQueue from 'p-queue'
import { configurePrimitives, Lock, Queue, Semaphore } from '../../src/sync/index.ts'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : undefined
const RUNS = Number(flag('--runs')) || 5
const PROCS = Number(flag('--procs')) || 3
const SCALE = args.includes('--quick') ? 0.1 : 1

interface Case {
  name: string
  ops: number
  run: () => Promise<void>
}

/**
 * Ops per second of CPU time (user + system, all threads: GC included), not of wall time:
 * on a shared machine wall time also counts the time this process waited for the core,
 * which moved samples of one run by up to 2x.
 */
async function time(c: Case): Promise<number> {
  const t0 = process.cpuUsage()
  await c.run()
  const t = process.cpuUsage(t0)
  return c.ops / ((t.user + t.system) / 1e6)
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

const withKeepAlive = (run: () => Promise<void>) => async (): Promise<void> => {
  const saved = configurePrimitives()
  configurePrimitives({ keepAlive: true })
  try {
    await run()
  } finally {
    configurePrimitives(saved)
  }
}

// ---- rows ----

function uncontended(): Case[] {
  const n = Math.round(1_000_000 * SCALE)
  const lock = new Lock()
  const sem = new Semaphore(1)
  const mutex = new Mutex()
  const amSem = new AmSemaphore(1)
  const sema = new Sema(1)
  const limit = pLimit(1)
  const noop = (): void => {}
  return [
    {
      name: 'edgeio Lock',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) {
          await lock.acquire()
          lock.release()
        }
      },
    },
    {
      name: 'edgeio Semaphore(1)',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) {
          await sem.acquire()
          sem.release()
        }
      },
    },
    {
      name: 'async-mutex Mutex',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) {
          const release = await mutex.acquire()
          release()
        }
      },
    },
    {
      name: 'async-mutex Semaphore(1)',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) {
          const [, release] = await amSem.acquire()
          release()
        }
      },
    },
    {
      name: 'async-sema Sema(1)',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) {
          await sema.acquire()
          sema.release()
        }
      },
    },
    {
      name: 'p-limit(1)',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) await limit(noop)
      },
    },
    {
      name: 'baseline: await Promise.resolve()',
      ops: n,
      run: async () => {
        for (let i = 0; i < n; i++) await Promise.resolve()
      },
    },
  ]
}

/** `tasks` tasks each doing `each` acquire/release pairs on a `permits`-permit primitive. */
function contended(tasks: number, each: number, permits: number): Case[] {
  const ops = tasks * each
  const spread = async (body: () => Promise<void>): Promise<void> => {
    await Promise.all(Array.from({ length: tasks }, body))
  }
  const edge = async (): Promise<void> => {
    const s = permits === 1 ? new Lock() : new Semaphore(permits)
    await spread(async () => {
      for (let i = 0; i < each; i++) {
        await s.acquire()
        s.release()
      }
    })
  }
  return [
    { name: `edgeio ${permits === 1 ? 'Lock' : 'Semaphore'}`, ops, run: edge },
    { name: `edgeio (keep-alive timers on)`, ops, run: withKeepAlive(edge) },
    {
      name: permits === 1 ? 'async-mutex Mutex' : 'async-mutex Semaphore',
      ops,
      run: async () => {
        if (permits === 1) {
          const m = new Mutex()
          await spread(async () => {
            for (let i = 0; i < each; i++) (await m.acquire())()
          })
        } else {
          const m = new AmSemaphore(permits)
          await spread(async () => {
            for (let i = 0; i < each; i++) (await m.acquire())[1]()
          })
        }
      },
    },
    {
      name: 'async-sema Sema',
      ops,
      run: async () => {
        const s = new Sema(permits)
        await spread(async () => {
          for (let i = 0; i < each; i++) {
            await s.acquire()
            s.release()
          }
        })
      },
    },
    {
      name: 'p-limit',
      ops,
      run: async () => {
        const limit = pLimit(permits)
        const noop = (): void => {}
        await spread(async () => {
          for (let i = 0; i < each; i++) await limit(noop)
        })
      },
    },
  ]
}

/**
 * The least a bounded queue with this API can do: a ring of items, arrays of parked getters
 * and putters, no cancellation, no keep-alive, no `join()`. Its row is the ceiling the
 * promise-per-`get()` design leaves (as the bare `await` loop is for the lock).
 */
class MinimalQueue<T> {
  #items: (T | undefined)[] = new Array(64)
  #head = 0
  #size = 0
  readonly #getters: ((item: T) => void)[] = []
  readonly #putters: [() => void, T][] = []
  readonly #capacity: number
  static readonly #resolved = Promise.resolve()

  constructor(capacity: number) {
    this.#capacity = capacity
    while (this.#items.length < capacity) this.#items.length *= 2
  }

  put(item: T): Promise<void> {
    const getter = this.#getters.shift()
    if (getter !== undefined) getter(item)
    else if (this.#size < this.#capacity) this.#push(item)
    else return new Promise((resolve) => this.#putters.push([resolve, item]))
    return MinimalQueue.#resolved
  }

  get(): Promise<T> {
    if (this.#size === 0) return new Promise((resolve) => this.#getters.push(resolve))
    const item = this.#items[this.#head] as T
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) & (this.#items.length - 1)
    this.#size--
    const putter = this.#putters.shift()
    if (putter !== undefined) {
      this.#push(putter[1])
      putter[0]()
    }
    return Promise.resolve(item)
  }

  #push(item: T): void {
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = item
    this.#size++
  }
}

function boundedQueue(): Case[] {
  const items = Math.round(1_000_000 * SCALE)
  const capacity = 64
  const consumers = 4
  const edge = async (): Promise<void> => {
    const q = new Queue<number>({ maxsize: capacity })
    let got = 0
    const consumer = async (): Promise<void> => {
      for (;;) {
        const v = await q.get()
        if (v < 0) return
        got++
      }
    }
    const cs = Array.from({ length: consumers }, consumer)
    for (let i = 0; i < items; i++) await q.put(i)
    for (let i = 0; i < consumers; i++) await q.put(-1)
    await Promise.all(cs)
    if (got !== items) throw new Error('lost items')
  }
  return [
    { name: 'edgeio Queue', ops: items, run: edge },
    { name: 'edgeio Queue (keep-alive timers on)', ops: items, run: withKeepAlive(edge) },
    {
      name: 'async-channel Channel',
      ops: items,
      run: async () => {
        const ch = new Channel<number>(capacity)
        let got = 0
        const consumer = async (): Promise<void> => {
          for (;;) {
            const v = await ch.get()
            if (v < 0) return
            got++
          }
        }
        const cs = Array.from({ length: consumers }, consumer)
        for (let i = 0; i < items; i++) await ch.push(i)
        for (let i = 0; i < consumers; i++) await ch.push(-1)
        await Promise.all(cs)
        if (got !== items) throw new Error('lost items')
      },
    },
    {
      name: 'baseline: minimal queue (no cancellation)',
      ops: items,
      run: async () => {
        const q = new MinimalQueue<number>(capacity)
        let got = 0
        const consumer = async (): Promise<void> => {
          for (;;) {
            const v = await q.get()
            if (v < 0) return
            got++
          }
        }
        const cs = Array.from({ length: consumers }, consumer)
        for (let i = 0; i < items; i++) await q.put(i)
        for (let i = 0; i < consumers; i++) await q.put(-1)
        await Promise.all(cs)
        if (got !== items) throw new Error('lost items')
      },
    },
    {
      name: 'p-queue (concurrency 4)',
      ops: items,
      run: async () => {
        const q = new PQueue({ concurrency: consumers })
        let got = 0
        const work = async (): Promise<void> => {
          got++
        }
        for (let i = 0; i < items; i++) {
          if (q.size >= capacity) await q.onSizeLessThan(capacity)
          q.add(work)
        }
        await q.onIdle()
        if (got !== items) throw new Error('lost items')
      },
    },
  ]
}

// ---- heap per pending waiter ----

const gc = (globalThis as { gc?: () => void }).gc

async function heapUsed(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0))
    gc?.()
  }
  return process.memoryUsage().heapUsed
}

async function perWaiter(name: string, park: (n: number) => Promise<unknown[]>): Promise<string> {
  const n = 100_000
  const before = await heapUsed()
  const held = await park(n)
  const after = await heapUsed()
  const bytes = (after - before) / n - 8 // minus the array slot holding the promise
  if (held.length !== n) throw new Error('bad')
  return `| ${name} | ${bytes.toFixed(0)} B |`
}

async function heapRows(): Promise<string[]> {
  if (gc === undefined) return ['| (run with --expose-gc for the heap row) | |']
  const rows: string[] = []
  const hold = async <T>(acquire: () => Promise<T>, n: number): Promise<unknown[]> =>
    Array.from({ length: n }, acquire)
  {
    const l = new Lock()
    await l.acquire()
    rows.push(await perWaiter('edgeio Lock', (n) => hold(() => l.acquire(), n)))
  }
  {
    const l = new Lock()
    await l.acquire()
    const c = new AbortController()
    rows.push(
      await perWaiter('edgeio Lock, with a shared signal', (n) =>
        hold(() => l.acquire({ signal: c.signal }), n)
      )
    )
  }
  {
    const saved = configurePrimitives()
    configurePrimitives({ keepAlive: true })
    const l = new Lock()
    await l.acquire()
    rows.push(
      await perWaiter('edgeio Lock, keep-alive timers on', (n) => hold(() => l.acquire(), n))
    )
    configurePrimitives(saved)
  }
  {
    const m = new Mutex()
    await m.acquire()
    rows.push(await perWaiter('async-mutex Mutex', (n) => hold(() => m.acquire(), n)))
  }
  {
    const m = new AmSemaphore(1)
    await m.acquire()
    rows.push(await perWaiter('async-mutex Semaphore', (n) => hold(() => m.acquire(), n)))
  }
  {
    const s = new Sema(1)
    await s.acquire()
    rows.push(await perWaiter('async-sema Sema', (n) => hold(() => s.acquire(), n)))
  }
  return rows
}

// ---- main ----

const rows: [string, () => Case[]][] = [
  ['Uncontended lock (acquire + release)', uncontended],
  ['Contended lock, 100 tasks', () => contended(100, Math.round(10_000 * SCALE), 1)],
  ['Semaphore, 10 permits, 1,000 tasks', () => contended(1000, Math.round(1_000 * SCALE), 10)],
  ['Bounded queue (64), 1 producer / 4 consumers, 10⁶ items', boundedQueue],
]

const child = flag('--child')
if (child !== undefined) {
  // One (row, case) in this process: print the samples as JSON.
  const [row, name] = JSON.parse(child) as [number, string]
  const c = (rows[row] as [string, () => Case[]])[1]().find((x) => x.name === name) as Case
  await time(c)
  const samples: number[] = []
  for (let r = 0; r < RUNS; r++) samples.push(await time(c))
  console.log(JSON.stringify(samples))
} else if (args.includes('--heap')) {
  console.log((await heapRows()).join('\n'))
} else {
  const passOn = ['--runs', String(RUNS), ...(SCALE < 1 ? ['--quick'] : [])]
  const spawn = (extra: string[]): string =>
    execFileSync(
      process.execPath,
      [...process.execArgv, process.argv[1] as string, ...passOn, ...extra],
      {
        encoding: 'utf8',
      }
    )
  const out: string[] = [
    `Node ${process.version}; per case ${PROCS} processes × ${RUNS} runs (median); scale ${SCALE}`,
    '',
  ]
  for (const [i, [title, make]] of rows.entries()) {
    // Rounds of one process per case, cases alternating, so that a busy spell of the
    // machine falls on every case alike; ratios are taken within a round and their median
    // reported (the ops/s column is the median of all samples).
    const names = make().map((c) => c.name)
    const rounds: Map<string, number>[] = []
    const all = new Map<string, number[]>(names.map((n) => [n, []]))
    for (let p = 0; p < PROCS; p++) {
      const round = new Map<string, number>()
      for (const name of names) {
        const samples = JSON.parse(spawn(['--child', JSON.stringify([i, name])])) as number[]
        ;(all.get(name) as number[]).push(...samples)
        round.set(name, median(samples))
      }
      rounds.push(round)
    }
    const med = new Map([...all].map(([k, v]) => [k, median(v)]))
    const peers = [...med].filter(([k]) => !k.startsWith('edgeio') && !k.startsWith('baseline'))
    const best = (peers.reduce((a, b) => (b[1] > a[1] ? b : a)) as [string, number])[0]
    out.push(
      `### ${title}`,
      '',
      '| library | ops/s (median) | vs best peer |',
      '| --- | ---: | ---: |'
    )
    for (const [k, v] of med) {
      const ratio = median(rounds.map((r) => (r.get(k) as number) / (r.get(best) as number)))
      out.push(`| ${k} | ${(v / 1e6).toFixed(2)} M | ${ratio.toFixed(2)}× |`)
    }
    out.push('')
    console.error(`${title} done`)
  }
  out.push(
    '### Heap per pending waiter (100,000 parked)',
    '',
    '| library | bytes |',
    '| --- | ---: |'
  )
  out.push(spawn(['--heap']).trimEnd(), '')
  console.log(out.join('\n'))
}
