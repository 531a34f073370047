/**
 * The in-process backend, for Node and Deno (and tests): the semantics of the Cloudflare
 * backend — at-least-once delivery, delays, retries with backoff, dead-letter after
 * `maxRetries` — in this process's memory, with bounded concurrency and FIFO order among
 * ready jobs. It is as durable as the process: jobs still waiting when it closes are
 * handed back by `close()`, not kept.
 */
import { settlesWithin } from '../../lifecycle/settles-within.ts'
import { MinHeap } from '../../sync/heap.ts'
import { delayOf, deliver } from './consumer.ts'
import { JobQueueClosed } from './errors.ts'
import type { JobConsumer, JobInfo, JobQueue, SendOptions } from './types.ts'

export interface MemoryJobQueueOptions<E> {
  /** The queue name handlers see in `info.queue`. Default `'jobs'`. */
  name?: string
  /** What handlers see as `info.env`. */
  env?: E
  /**
   * How long `close()` lets running jobs finish before it aborts their `info.signal`
   * (milliseconds). Default 10 000, the adapters' default shutdown timeout.
   */
  drainTimeout?: number
}

/** A job `close()` found not done: waiting, delayed, or due for a retry. */
export interface AbandonedJob<T> {
  readonly job: T
  readonly id: string
  /** Deliveries already made (0: it never ran). */
  readonly attempts: number
}

interface Entry<T> {
  readonly job: T
  readonly id: string
  readonly enqueuedAt: Date
  attempts: number
  /** `performance.now()` at which it may run. */
  readyAt: number
  /** Send (or re-queue) order, the tie-break that makes equal ready times FIFO. */
  seq: number
}

type State = 'idle' | 'started' | 'closing' | 'closed'

/** How long jobs that ignored the abort get before `close()` goes ahead without them. */
const ABORT_GRACE_MS = 1_000

const readyOrder = <T>(a: Entry<T>, b: Entry<T>) => a.readyAt - b.readyAt || a.seq - b.seq

/**
 * A job queue in this process. Sends are accepted from construction, jobs run from
 * `start()` on (no timer exists before), and `close()` stops accepting sends, lets running
 * jobs finish, and returns the jobs left. `lifetime()` does both for `service.cleanupCtx`,
 * so the queue drains on graceful shutdown, after the requests that may send to it.
 *
 * @example
 * ```ts
 * const jobs = new MemoryJobQueue(defineJobConsumer<string>({ handle: (name) => greet(name) }))
 * service.cleanupCtx(() => jobs.lifetime())
 * app.post('/greet/:name', async (c) => {
 *   await jobs.send(c.req.param('name'), { delaySeconds: 5 })
 *   return c.body(null, 202)
 * })
 * ```
 */
export class MemoryJobQueue<T, E = undefined> implements JobQueue<T> {
  readonly name: string
  readonly #consumer: JobConsumer<T, E>
  readonly #env: E
  readonly #drainTimeout: number
  readonly #pending = new MinHeap<Entry<T>>(readyOrder)
  readonly #inFlight = new Set<Promise<void>>()
  #state: State = 'idle'
  #seq = 0
  #pumpScheduled = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #abort: AbortController | undefined
  #idle: PromiseWithResolvers<void> | undefined
  #closing: Promise<AbandonedJob<T>[]> | undefined

  constructor(consumer: JobConsumer<T, E>, options: MemoryJobQueueOptions<E> = {}) {
    this.#consumer = consumer
    this.name = options.name ?? 'jobs'
    this.#env = options.env as E
    this.#drainTimeout = options.drainTimeout ?? 10_000
  }

  /** Jobs waiting: ready, delayed, or due for a retry. */
  get size(): number {
    return this.#pending.size
  }

  /** Jobs being handled now. */
  get running(): number {
    return this.#inFlight.size
  }

  async send(job: T, options?: SendOptions): Promise<void> {
    this.#enqueue([job], delayOf(options))
  }

  async sendBatch(jobs: Iterable<T>, options?: SendOptions): Promise<void> {
    this.#enqueue(jobs, delayOf(options))
  }

  /** Starts running jobs (idempotent). Jobs sent before wait for it. */
  start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'started'
    this.#pump()
  }

  /** Resolves once no job is waiting or running (delayed ones included). */
  idle(): Promise<void> {
    if (this.#pending.size === 0 && this.#inFlight.size === 0) return Promise.resolve()
    this.#idle ??= Promise.withResolvers()
    return this.#idle.promise
  }

  /**
   * Stops accepting sends (they reject with `JobQueueClosed`) and starts no more jobs;
   * waits up to `drainTimeout` for running ones, then aborts their `info.signal`. Resolves
   * with the jobs that will not run here, oldest first. Idempotent.
   */
  close(): Promise<AbandonedJob<T>[]> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /** `start()`, then, at cleanup, `close()`: for `service.cleanupCtx(() => queue.lifetime())`. */
  async *lifetime(): AsyncGenerator<unknown, void, void> {
    this.start()
    try {
      yield
    } finally {
      const abandoned = await this.close()
      if (abandoned.length > 0) {
        console.warn(`edgeio: job queue ${this.name} closed with ${abandoned.length} job(s) left`)
      }
    }
  }

  async #close(): Promise<AbandonedJob<T>[]> {
    this.#state = 'closing'
    this.#disarm()
    const settled = Promise.all(this.#inFlight)
    if (!(await settlesWithin(settled, this.#drainTimeout))) {
      console.warn(`edgeio: job queue ${this.name}: jobs still running after the drain time`)
      this.#abort?.abort(new JobQueueClosed(`job queue ${this.name} is closing`))
      await settlesWithin(settled, ABORT_GRACE_MS)
    }
    this.#state = 'closed'
    const left = this.#pending.drain().sort(readyOrder)
    this.#settleIdle()
    return left.map(({ job, id, attempts }) => ({ job, id, attempts }))
  }

  #enqueue(jobs: Iterable<T>, delaySeconds: number): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new JobQueueClosed(`job queue ${this.name} is closed`)
    }
    // A copy, as a real queue serialises: a job that cannot be cloned fails here, and the
    // handler never shares objects with the sender.
    const copies = Array.from(jobs, (job) => structuredClone(job))
    const readyAt = performance.now() + delaySeconds * 1000
    const enqueuedAt = new Date()
    for (const job of copies) {
      const id = crypto.randomUUID()
      this.#pending.push({ job, id, enqueuedAt, attempts: 0, readyAt, seq: this.#seq++ })
    }
    // Never inside the sender's call: the job starts after `send()` returned.
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true
      queueMicrotask(() => {
        this.#pumpScheduled = false
        this.#pump()
      })
    }
  }

  /** Starts every ready job there is room for, then sets the timer for the next one. */
  #pump(): void {
    if (this.#state !== 'started') return
    const now = performance.now()
    while (this.#inFlight.size < this.#consumer.concurrency) {
      const next = this.#pending.peek()
      if (next === undefined || next.readyAt > now) break
      this.#pending.pop()
      this.#run(next)
    }
    const next = this.#pending.peek()
    if (next === undefined || this.#inFlight.size >= this.#consumer.concurrency) {
      this.#disarm() // a finishing job pumps again
    } else if (next.readyAt !== this.#timerAt) {
      this.#disarm()
      this.#timerAt = next.readyAt
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined
          this.#timerAt = Number.POSITIVE_INFINITY
          this.#pump()
        },
        Math.max(0, next.readyAt - now)
      )
    }
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  #run(entry: Entry<T>): void {
    entry.attempts++
    this.#abort ??= new AbortController()
    const info: JobInfo<E> = {
      id: entry.id,
      attempt: entry.attempts,
      enqueuedAt: entry.enqueuedAt,
      queue: this.name,
      env: this.#env,
      signal: this.#abort.signal,
    }
    const run: Promise<void> = deliver(this.#consumer, entry.job, info).then((outcome) => {
      this.#inFlight.delete(run)
      if (outcome.kind === 'retry' && this.#state !== 'closed') {
        entry.readyAt = performance.now() + outcome.delaySeconds * 1000
        entry.seq = this.#seq++
        this.#pending.push(entry)
      }
      this.#pump()
      this.#settleIdle()
    })
    this.#inFlight.add(run)
  }

  #settleIdle(): void {
    if (this.#idle && this.#inFlight.size === 0 && this.#pending.size === 0) {
      this.#idle.resolve()
      this.#idle = undefined
    }
  }
}
