/**
 * Job throughput on Redis: edgeio's `RedisJobQueue` (the `defineJobConsumer` contract over
 * BullMQ) against BullMQ's `Queue` + `Worker` used directly, on one `redis-server` started
 * here, in one process, rounds alternating (the one that goes first alternates too).
 *
 * A round sends N no-op jobs (`{ i }`) to a fresh queue whose worker is already running (one
 * job handled first, so its connections are up), and is timed from the first send to the
 * N-th handler call. Both sides keep completed jobs out of Redis (`removeOnComplete`) and run
 * at the same concurrency. Two rows: jobs sent 100 per call (`sendBatch` / `addBulk`), and
 * one per call (`send` / `add`) with as many calls in flight as the concurrency.
 *
 * Both libraries are warmed up first, 4 rounds each in both modes: the JIT makes the first
 * ~15 000 jobs of a process up to twice as slow as the rest, which a single warm-up round
 * leaves in the counted rounds. A round lasts ~150 ms, so on a shared machine one round can
 * swing by ±15 %: the range of the rounds' overheads is printed beside the median.
 *
 *   node bench/redis/jobs.ts
 */
import { Queue, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { defineJobConsumer } from '../../src/distributed/jobs/consumer.ts'
import { RedisJobQueue } from '../../src/distributed/redis/job-queue.ts'
import { startRedis } from '../../test/redis/server.ts'
import { median } from '../stats.ts'

export interface RedisJobsRow {
  /** How jobs were sent: 100 per call, or one per call. */
  send: 'batch' | 'single'
  jobs: number
  concurrency: number
  /** Jobs sent and handled per second, median of the rounds. */
  edgeio: number
  bullmq: number
  /** How much longer edgeio takes for the same jobs, in % (median of the rounds' ratios). */
  overheadPercent: number
  /** The lowest and highest of the rounds' overheads, in %. */
  overheadRange: [number, number]
}

export interface RedisJobsBenchOptions {
  /** Jobs per round. Default 2 000. */
  jobs?: number
  /** Jobs handled at once. Default 16. */
  concurrency?: number
  /** Rounds per library and row, after the warm-up. Default 3. */
  rounds?: number
}

interface Job {
  i: number
}

/** One side of the comparison: a running queue that handles jobs and reports each handled. */
interface Side {
  sendBatch(jobs: Job[]): Promise<void>
  send(job: Job): Promise<void>
  close(): Promise<void>
}

type Open = (name: string, handled: () => void) => Promise<Side>

const BATCH = 100
const WARM_UP_ROUNDS = 4
let rounds = 0

/** Sends `jobs` jobs through a fresh queue, timed until the last one was handled: jobs/s. */
async function round(open: Open, mode: RedisJobsRow['send'], jobs: number, inFlight: number) {
  let handled = 0
  let last: (() => void) | undefined
  const warmed = Promise.withResolvers<void>()
  const side = await open(`bench${++rounds}`, () => {
    handled++
    if (handled === 1) warmed.resolve()
    if (handled === jobs + 1) last?.()
  })
  try {
    await side.send({ i: -1 })
    await warmed.promise
    const all = new Promise<void>((resolve) => {
      last = resolve
    })
    const start = performance.now()
    if (mode === 'batch') {
      for (let from = 0; from < jobs; from += BATCH) {
        await side.sendBatch(
          Array.from({ length: Math.min(BATCH, jobs - from) }, (_, k) => ({ i: from + k }))
        )
      }
    } else {
      let next = 0
      const lane = async () => {
        while (next < jobs) await side.send({ i: next++ })
      }
      await Promise.all(Array.from({ length: inFlight }, lane))
    }
    await all
    return jobs / ((performance.now() - start) / 1000)
  } finally {
    await side.close()
  }
}

/** Runs both rows: a warm-up, then `rounds` alternating rounds of each library. */
export async function runRedisJobsBench(
  options: RedisJobsBenchOptions = {}
): Promise<RedisJobsRow[]> {
  const jobs = options.jobs ?? 2_000
  const concurrency = options.concurrency ?? 16
  const count = options.rounds ?? 3
  const server = await startRedis()
  const url = server.url

  const edgeio: Open = async (name, handled) => {
    const queue = new RedisJobQueue(defineJobConsumer<Job>({ handle: handled, concurrency }), {
      connection: { url },
      name,
      prefix: 'bench',
    })
    queue.start()
    return {
      sendBatch: (batch) => queue.sendBatch(batch),
      send: (job) => queue.send(job),
      close: () => queue.close(),
    }
  }

  // BullMQ as its guide has it: a producer connection, a worker connection with
  // `maxRetriesPerRequest: null`, completed jobs removed.
  const bullmq: Open = async (name, handled) => {
    const producer = new Redis(url)
    const consumer = new Redis(url, { maxRetriesPerRequest: null })
    const queue = new Queue<Job>(name, {
      connection: producer,
      prefix: 'bench',
      defaultJobOptions: { removeOnComplete: true },
    })
    const worker = new Worker<Job>(
      name,
      async () => {
        handled()
      },
      { connection: consumer, prefix: 'bench', concurrency }
    )
    return {
      sendBatch: async (batch) => {
        await queue.addBulk(batch.map((data) => ({ name, data })))
      },
      send: async (job) => {
        await queue.add(name, job)
      },
      close: async () => {
        await worker.close()
        await queue.close()
        await Promise.all([producer.quit(), consumer.quit()])
      },
    }
  }

  try {
    // The first ~15 000 jobs of a process run slower and slower less (JIT, both libraries):
    // warm both sides up in both modes before anything is counted.
    for (let i = 0; i < WARM_UP_ROUNDS; i++) {
      for (const mode of ['batch', 'single'] as const) {
        await round(edgeio, mode, jobs, concurrency)
        await round(bullmq, mode, jobs, concurrency)
      }
    }
    const rows: RedisJobsRow[] = []
    for (const mode of ['batch', 'single'] as const) {
      const ours: number[] = []
      const theirs: number[] = []
      for (let i = 0; i < count; i++) {
        if (i % 2 === 0) {
          ours.push(await round(edgeio, mode, jobs, concurrency))
          theirs.push(await round(bullmq, mode, jobs, concurrency))
        } else {
          theirs.push(await round(bullmq, mode, jobs, concurrency))
          ours.push(await round(edgeio, mode, jobs, concurrency))
        }
      }
      const overheads = ours.map((rate, i) => ((theirs[i] as number) / rate - 1) * 100)
      rows.push({
        send: mode,
        jobs,
        concurrency,
        edgeio: median(ours),
        bullmq: median(theirs),
        overheadPercent: median(overheads),
        overheadRange: [Math.min(...overheads), Math.max(...overheads)],
      })
    }
    return rows
  } finally {
    await server.stop()
  }
}

if (import.meta.main) {
  const rows = await runRedisJobsBench()
  console.table(
    rows.map((row) => ({
      sent: row.send === 'batch' ? `${BATCH} per call` : 'one per call',
      jobs: row.jobs,
      concurrency: row.concurrency,
      'edgeio jobs/s': Math.round(row.edgeio),
      'BullMQ jobs/s': Math.round(row.bullmq),
      'edgeio overhead': `${row.overheadPercent.toFixed(1)} %`,
      'rounds (min – max)': row.overheadRange.map((p) => `${p.toFixed(1)} %`).join(' – '),
    }))
  )
}
