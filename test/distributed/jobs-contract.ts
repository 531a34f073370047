/**
 * The job queue contract, stated once and run against every backend: the in-process queue
 * on Node (jobs.test.ts), RedisJobQueue on Node and Deno (redis/jobs.test.ts,
 * redis/jobs-contract.deno.test.ts) and the Cloudflare Queues handler in workerd
 * (test/workerd/job-queue.test.ts). Times are read from the backend's own clock, so a
 * backend that simulates the platform's delays (workerd) and one that really waits (in
 * process) are held to the same inequalities.
 */
import { Hono } from 'hono'
import { afterEach, describe, expect, test } from 'vitest'
import { JobQueueClosed } from '../../src/distributed/jobs/errors.ts'
import type { JobConsumerOptions, JobInfo, JobQueue } from '../../src/distributed/jobs/types.ts'
import { Service } from '../../src/lifecycle/service.ts'
import { Event } from '../../src/sync/event.ts'

/** One queue of a backend, with its consumer attached. */
export interface OpenQueue<T> {
  readonly queue: JobQueue<T>
  /** Resolves once every job sent so far is done or dead-lettered. */
  settle(): Promise<void>
  /** Releases what the queue holds. */
  close(): Promise<void>
}

/** How the contract reaches a backend. */
export interface JobBackend {
  readonly name: string
  /** The backend's clock in milliseconds, as seen by handlers and senders. */
  now(): number
  /** The granularity of its delays in seconds: 1 on Cloudflare (whole seconds), 0 in process. */
  readonly delayResolution: number
  open<T>(options: JobConsumerOptions<T>): OpenQueue<T> | Promise<OpenQueue<T>>
  /**
   * For queues that run in the service's own process (not Cloudflare's, whose consumer the
   * platform runs): a queue not started yet, which a Service starts and drains.
   */
  lifetime?: {
    create<T>(options: JobConsumerOptions<T>): LifetimeQueue<T>
    /** What must hold of the backend once the queue drained (nothing left in Redis, say). */
    drained?(queue: LifetimeQueue<unknown>): Promise<void>
  }
}

/** A queue a Service runs: `service.cleanupCtx(() => queue.lifetime())`. */
export interface LifetimeQueue<T> extends JobQueue<T> {
  readonly name: string
  lifetime(): AsyncGenerator<unknown, void, void>
  /** Jobs running now, where the backend counts them. */
  readonly running?: number
  close(): Promise<unknown>
}

/** A delay as the backend applies it: rounded up to its resolution. */
const applied = (backend: JobBackend, seconds: number) =>
  backend.delayResolution > 0
    ? Math.ceil(seconds / backend.delayResolution) * backend.delayResolution
    : seconds

interface Delivery<T> {
  job: T
  info: JobInfo
  at: number
}

/** Registers the contract's tests for `backend`. */
export function describeJobQueueContract(backend: JobBackend): void {
  describe(`JobQueue contract [${backend.name}]`, () => {
    const opened: OpenQueue<unknown>[] = []
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((q) => q.close()))
    })

    /** Opens a queue whose handler records each delivery, then runs `handle`. */
    async function open<T>(
      options: Partial<JobConsumerOptions<T>> & {
        handle?: (job: T, info: JobInfo) => void | Promise<void>
      }
    ) {
      const deliveries: Delivery<T>[] = []
      const deadLetters: { job: T; error: unknown; info: JobInfo }[] = []
      const q = await backend.open<T>({
        ...options,
        async handle(job, info) {
          deliveries.push({ job, info, at: backend.now() })
          await options.handle?.(job, info)
        },
        onDeadLetter(job, error, info) {
          deadLetters.push({ job, error, info })
        },
      })
      opened.push(q as OpenQueue<unknown>)
      return { ...q, deliveries, deadLetters }
    }

    test('delivers every job sent, one by one or in a batch, with its delivery info', async () => {
      const q = await open<{ n: number }>({})
      await q.queue.send({ n: 1 })
      await q.queue.sendBatch([{ n: 2 }, { n: 3 }, { n: 4 }])
      await q.settle()
      expect(q.deliveries.map((d) => d.job.n).sort()).toEqual([1, 2, 3, 4])
      // Without failures each job is delivered once; ids tell the deliveries apart.
      expect(new Set(q.deliveries.map((d) => d.info.id)).size).toBe(4)
      for (const { info } of q.deliveries) {
        expect(info.attempt).toBe(1)
        expect(info.enqueuedAt).toBeInstanceOf(Date)
        expect(typeof info.queue).toBe('string')
        expect(info.signal.aborted).toBe(false)
      }
      expect(q.deadLetters).toEqual([])
    })

    test('a job is delivered again until it succeeds: at least once, counted', async () => {
      const failures = new Map([
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ])
      const q = await open<string>({
        maxRetries: 3,
        backoff: () => 0,
        handle(job, info) {
          if (info.attempt <= failures.get(job)!) throw new Error(`${job} fails`)
        },
      })
      await q.queue.sendBatch(['a', 'b', 'c'])
      await q.settle()
      for (const [job, fails] of failures) {
        const mine = q.deliveries.filter((d) => d.job === job)
        expect(mine.map((d) => d.info.attempt)).toEqual(
          Array.from({ length: fails + 1 }, (_, i) => i + 1)
        )
        expect(new Set(mine.map((d) => d.info.id)).size).toBe(1) // one job, one id
      }
      expect(q.deadLetters).toEqual([])
    })

    test('retries wait backoff(attempt) seconds after the failed attempt', async () => {
      const backoff = (attempt: number) => 0.05 * attempt
      const q = await open<string>({
        maxRetries: 5,
        backoff,
        handle(_job, info) {
          if (info.attempt < 3) throw new Error('not yet')
        },
      })
      await q.queue.send('job')
      await q.settle()
      const at = q.deliveries.map((d) => d.at)
      expect(q.deliveries.map((d) => d.info.attempt)).toEqual([1, 2, 3])
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(applied(backend, backoff(1)) * 1000)
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(applied(backend, backoff(2)) * 1000)
    })

    test('after maxRetries retries the job is dead-lettered once, with the last error', async () => {
      const q = await open<string>({
        maxRetries: 2,
        backoff: () => 0,
        handle(job, info) {
          throw new Error(`${job} failed attempt ${info.attempt}`)
        },
      })
      await q.queue.send('doomed')
      await q.settle()
      expect(q.deliveries.map((d) => d.info.attempt)).toEqual([1, 2, 3])
      expect(q.deadLetters).toHaveLength(1)
      const [dead] = q.deadLetters
      expect(dead!.job).toBe('doomed')
      expect(dead!.info.attempt).toBe(3)
      expect((dead!.error as Error).message).toBe('doomed failed attempt 3')
      // Dead-lettered means done with: nothing comes back.
      await q.queue.send('doomed')
      await q.settle()
      expect(q.deliveries).toHaveLength(6)
      expect(q.deadLetters).toHaveLength(2)
    })

    test('maxRetries 0: one delivery, then the dead letter', async () => {
      const q = await open<string>({
        maxRetries: 0,
        handle() {
          throw new Error('no')
        },
      })
      await q.queue.send('once')
      await q.settle()
      expect(q.deliveries).toHaveLength(1)
      expect(q.deadLetters).toHaveLength(1)
    })

    test('delaySeconds holds a job back; a batch delay holds all of it', async () => {
      const q = await open<string>({})
      const sentAt = backend.now()
      await q.queue.send('later', { delaySeconds: 0.1 })
      await q.queue.sendBatch(['b1', 'b2'], { delaySeconds: 0.05 })
      await q.queue.send('now')
      await q.settle()
      const at = Object.fromEntries(q.deliveries.map((d) => [d.job, d.at - sentAt]))
      expect(at.later).toBeGreaterThanOrEqual(applied(backend, 0.1) * 1000)
      expect(at.b1).toBeGreaterThanOrEqual(applied(backend, 0.05) * 1000)
      expect(at.b2).toBeGreaterThanOrEqual(applied(backend, 0.05) * 1000)
      expect(q.deliveries[0]!.job).toBe('now')
    })

    test('a delay out of range is refused at send', async () => {
      const q = await open<string>({})
      await expect(q.queue.send('x', { delaySeconds: -1 })).rejects.toThrow(RangeError)
      await expect(q.queue.send('x', { delaySeconds: 43_201 })).rejects.toThrow(RangeError)
      await expect(q.queue.sendBatch(['x'], { delaySeconds: Number.NaN })).rejects.toThrow(
        RangeError
      )
      await q.settle()
      expect(q.deliveries).toEqual([])
    })

    test('ready jobs run in send order, at most `concurrency` at once', async () => {
      let running = 0
      let most = 0
      const q = await open<number>({
        concurrency: 2,
        async handle() {
          most = Math.max(most, ++running)
          await null // let the other lane start
          running--
        },
      })
      await q.queue.sendBatch([1, 2, 3, 4, 5, 6])
      await q.settle()
      expect(q.deliveries.map((d) => d.job)).toEqual([1, 2, 3, 4, 5, 6])
      expect(most).toBe(2)
    })

    const lifetime = backend.lifetime
    if (lifetime) {
      test('on a Service: started at startup, drained at cleanup, sends refused after', async () => {
        const started = new Event()
        const finish = new Event()
        const done: string[] = []
        const queue = lifetime.create<string>({
          async handle(job) {
            started.set()
            await finish.wait()
            done.push(job)
          },
        })
        try {
          const service = new Service(new Hono())
          service.cleanupCtx(() => queue.lifetime())
          await queue.send('before startup')
          await Promise.resolve()
          expect(started.isSet()).toBe(false) // none runs before startup
          if (queue.running !== undefined) expect(queue.running).toBe(0)
          await service.startup()
          await started.wait()
          if (queue.running !== undefined) expect(queue.running).toBe(1)
          const cleanup = service.cleanup().then(() => done.push('cleanup finished'))
          // A macrotask later the cleanup is still waiting for the running job.
          await new Promise((resolve) => setTimeout(resolve, 0))
          expect(done).toEqual([])
          finish.set()
          await cleanup
          expect(done).toEqual(['before startup', 'cleanup finished'])
          expect(service.state).toBe('stopped')
          await lifetime.drained?.(queue as LifetimeQueue<unknown>)
          await expect(queue.send('after')).rejects.toBeInstanceOf(JobQueueClosed)
        } finally {
          await queue.close()
        }
      })
    }
  })
}
