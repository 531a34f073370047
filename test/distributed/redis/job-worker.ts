/**
 * A worker process for the crash tests in jobs.test.ts: runs the jobs of one RedisJobQueue
 * and reports each step as a JSON line on stdout. A job `{ name, hold: true }` is held for
 * ever on its first delivery (the test kills the process meanwhile) and done on the next.
 * SIGTERM closes the queue gracefully and exits 0.
 *
 *   node test/distributed/redis/job-worker.ts <redis url> <queue> [maxRetries]
 *
 * Locks are short (1 s, renewed every 500 ms; stalled check every 500 ms) so that a killed
 * worker's jobs come back within about 2 s.
 */
import { defineJobConsumer } from '../../../src/distributed/jobs/consumer.ts'
import { RedisJobQueue } from '../../../src/distributed/redis/job-queue.ts'

export interface WorkerJob {
  name: string
  hold?: boolean
}

/** One line of the worker's report. */
export type WorkerEvent =
  | { event: 'start' | 'done'; job: string; id: string; attempt: number; pid: number }
  | { event: 'dead'; job: string; id: string; attempt: number; error: string; pid: number }

export const LOCK_DURATION = 1_000
export const STALLED_INTERVAL = 500

const report = (event: WorkerEvent) => process.stdout.write(`${JSON.stringify(event)}\n`)

if (import.meta.main) {
  const [url, name, maxRetries = '3'] = process.argv.slice(2)
  if (!url || !name) throw new Error('usage: job-worker.ts <redis url> <queue> [maxRetries]')
  const { pid } = process
  const queue = new RedisJobQueue(
    defineJobConsumer<WorkerJob>({
      maxRetries: Number(maxRetries),
      concurrency: 4,
      backoff: () => 0,
      async handle(job, { id, attempt }) {
        report({ event: 'start', job: job.name, id, attempt, pid })
        if (job.hold && attempt === 1) await new Promise<never>(() => {})
        report({ event: 'done', job: job.name, id, attempt, pid })
      },
      onDeadLetter(job, error, { id, attempt }) {
        report({ event: 'dead', job: job.name, id, attempt, error: (error as Error).name, pid })
      },
    }),
    {
      connection: { url },
      name,
      prefix: 'crash',
      lockDuration: LOCK_DURATION,
      stalledInterval: STALLED_INTERVAL,
    }
  )
  queue.start()
  process.once('SIGTERM', () => {
    queue.close().then(() => process.exit(0))
  })
}
