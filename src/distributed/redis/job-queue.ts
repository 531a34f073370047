/**
 * The job queue on Redis, through BullMQ: the `defineJobConsumer` contract for a fleet of
 * Node, Deno or Bun processes sharing one Redis. BullMQ keeps the jobs, their delays and
 * their locks; edgeio's `deliver()` alone decides each delivery's fate, as it does on
 * Cloudflare Queues and in process, and BullMQ carries the decision out:
 *
 * - a failure to retry is thrown to BullMQ, whose backoff strategy (`settings.backoffStrategy`)
 *   returns the delay `deliver()` chose: BullMQ's atomic failed → delayed move, attempt count
 *   and failure record are kept, and no second retry rule exists;
 * - a dead-lettered job returns normally after `onDeadLetter`: BullMQ completes it, and
 *   `removeOnComplete` drops it;
 * - a job whose process died mid-delivery is found by BullMQ's stalled check (its lock ran
 *   out) and delivered again, with `attempt` counting the lost delivery.
 */
import { type Job, Queue, type Span, Worker } from 'bullmq'
import { type Cluster, Redis, type RedisOptions } from 'ioredis'
import { settlesWithin } from '../../lifecycle/settles-within.ts'
import { delayOf, deliver } from '../jobs/consumer.ts'
import { JobQueueClosed } from '../jobs/errors.ts'
import type { JobConsumer, JobInfo, JobQueue, SendOptions } from '../jobs/types.ts'

/** Where the queue finds Redis. */
export type RedisJobQueueConnection =
  /** The queue opens its connections and closes them in `close()`. */
  | { url: string }
  /**
   * Sends go through this client, which stays yours: close it yourself, after the queue.
   * The worker (from `start()`) runs on duplicates of it, made and closed by the queue, with
   * `maxRetriesPerRequest: null` as BullMQ requires of workers, so the client may keep
   * ioredis's defaults. It must have no `keyPrefix` (use the `prefix` option).
   *
   * A `Cluster` works too: BullMQ's scripts touch several keys of a queue at once, so on a
   * Cluster every key of the queue must share one hash tag. The default prefix is then
   * `'{edgeio:jobs}'`, and a `prefix` given without `{…}` is refused (`RangeError`). The
   * whole queue lives on the master owning that tag's slot: spread the load with queues of
   * different tags (`'{jobs:images}'`, `'{jobs:mail}'`).
   */
  | { client: Redis | Cluster }

export interface RedisJobQueueOptions<E> {
  connection: RedisJobQueueConnection
  /** The queue's name: BullMQ's queue, and `info.queue` for handlers. Default `'jobs'`. */
  name?: string
  /** What handlers see as `info.env`. */
  env?: E
  /**
   * How long `close()` lets running jobs finish before it aborts their `info.signal`
   * (milliseconds). Default 10 000, the adapters' default shutdown timeout.
   */
  drainTimeout?: number
  /**
   * Put before the queue's keys (`<prefix>:<name>:…`). Default `'edgeio:jobs'`, and
   * `'{edgeio:jobs}'` on a Redis Cluster, where it must contain a hash tag (`{…}`).
   */
  prefix?: string
  /**
   * How long a running job's lock lasts without renewal (ms); it is renewed every half of
   * it. A process that dies mid-job gives its jobs back once their locks lapse, so this
   * bounds how late they run again; an event loop blocked longer than this loses the lock
   * and the job runs twice. Default 30 000 (BullMQ's).
   */
  lockDuration?: number
  /**
   * How often the stalled check runs (ms): it finds the jobs whose lock lapsed and puts them
   * back in the queue. A killed worker's job runs again within about
   * `lockDuration + stalledInterval`. One short script per interval. Default 5 000.
   */
  stalledInterval?: number
  /**
   * How many times one job may be put back after its process died before BullMQ fails it
   * on its own (into its failed set, without `onDeadLetter`). Default `maxRetries + 1`, so
   * that the consumer's own limit comes first: a job whose deliveries all died is handed
   * to `onDeadLetter` with a {@link DeliveryLostError}.
   */
  maxStalledCount?: number
}

/**
 * The error `onDeadLetter` receives for a job whose last allowed delivery never reported
 * back: its process died (or lost Redis for longer than `lockDuration`) while handling it.
 * The job is not handled again: a job that kills its worker would kill the next one too.
 *
 * @example
 * ```ts
 * const imports = defineJobConsumer<{ file: string }>({
 *   handle: (job) => importFile(job.file),
 *   onDeadLetter(job, error) {
 *     if (error instanceof DeliveryLostError) console.error('its workers died:', job.file)
 *   },
 * })
 * ```
 */
export class DeliveryLostError extends Error {
  override name = 'DeliveryLostError'
}

/** What a failed delivery throws to BullMQ: the delay `deliver()` chose, and the cause. */
class RetryLater extends Error {
  override name = 'RetryLater'
  readonly delayMs: number

  constructor(delayMs: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.delayMs = delayMs
    if (cause instanceof Error && cause.stack) this.stack = cause.stack
  }
}

/**
 * BullMQ's worker, kept from sleeping past a retry it scheduled itself.
 *
 * BullMQ wakes an idle worker for a delayed job with a marker: the script that delays the
 * job writes it and one worker's blocking `BZPOPMIN` takes it, learning when the job is due.
 * When that worker is the one whose job failed, two replies race in it: the marker's (on the
 * blocking connection) and the retry's own (`moveToDelayed`, which carries no due time). If
 * the marker's is handled first, the retry's then resets the due time the worker learned to
 * "none", and the worker blocks for `drainDelay` (5 s) on a marker no longer there: the retry
 * runs ~5 s late. Node handles each socket's reply in a turn of its own, by the end of which
 * the worker has used the due time; Deno may resume both in one turn, and then it is lost.
 * So this worker notes each retry's due time before BullMQ stores it, and never blocks past
 * one: at worst it asks Redis once for a job another worker already took.
 */
class RetryingWorker<T> extends Worker<T, void, string> {
  /** This worker's retries: when each is due, and whether BullMQ has stored it yet. */
  readonly #retries = new Set<{ at: number; stored: boolean }>()
  /** `moveToActive` calls under way: a job that is ready is on its way here. */
  #fetching = 0
  #fetched: PromiseWithResolvers<void> | undefined

  /** Whether a job is being fetched right now. */
  get fetching(): boolean {
    return this.#fetching > 0
  }

  /**
   * Resolves once no job is being fetched (at once when none is). BullMQ fetches ready jobs
   * one round trip apart while it has free lanes, so the jobs ready together have all
   * arrived by then.
   */
  fetchesSettled(): Promise<void> {
    if (this.#fetching === 0) return Promise.resolve()
    this.#fetched ??= Promise.withResolvers()
    return this.#fetched.promise
  }

  protected override async moveToActive(
    token: string,
    name?: string
  ): Promise<Job<T, void, string>> {
    this.#fetching++
    try {
      return await super.moveToActive(token, name)
    } finally {
      if (--this.#fetching === 0) {
        this.#fetched?.resolve()
        this.#fetched = undefined
      }
    }
  }

  protected override async handleFailed(
    error: Error,
    job: Job<T, void, string>,
    token: string,
    fetchNext?: () => boolean,
    span?: Span
  ): Promise<Job<T, void, string>> {
    if (!(error instanceof RetryLater))
      return super.handleFailed(error, job, token, fetchNext, span)
    // Noted first: the reply that loses the due time comes within the call below.
    const retry = { at: Date.now() + error.delayMs, stored: false }
    this.#retries.add(retry)
    try {
      return await super.handleFailed(error, job, token, fetchNext, span)
    } finally {
      retry.stored = true
    }
  }

  protected override getBlockTimeout(blockUntil: number): number {
    const now = Date.now()
    let until = blockUntil > 0 ? blockUntil : Number.POSITIVE_INFINITY
    for (const retry of this.#retries) {
      if (retry.at > now) {
        until = Math.min(until, retry.at)
      } else if (retry.stored) {
        // Due: no blocking, BullMQ fetches at once (promoting the retry, if still there).
        this.#retries.delete(retry)
        until = Math.min(until, retry.at)
      } else {
        // Due before BullMQ has stored it (a delay shorter than a round trip): look again soon.
        until = Math.min(until, now + 1)
      }
    }
    return super.getBlockTimeout(until === Number.POSITIVE_INFINITY ? blockUntil : until)
  }
}

type State = 'idle' | 'started' | 'closing' | 'closed'

/** How long jobs that ignored the abort get before `close()` goes ahead without them. */
const ABORT_GRACE_MS = 1_000
/** How long a connection gets to say goodbye before it is cut. */
const QUIT_MS = 1_000
/** `idle()` asks Redis again at least this often, for jobs other processes run. */
const IDLE_POLL_MS = 200
/** BullMQ's name of edgeio's backoff strategy (the job options refer to it). */
const BACKOFF = 'edgeio'

/** Reconnect for ever, 50 ms doubling to 1 s apart: a restarted Redis is found within ~1 s. */
const reconnect = (attempt: number) => Math.min(50 * 2 ** (attempt - 1), 1_000)
/**
 * The producer's connection (from a URL): a send made while Redis is unreachable fails after
 * one reconnection attempt, so a request handler can answer 503 rather than wait for
 * ioredis's default 20.
 */
const PRODUCER: RedisOptions = { maxRetriesPerRequest: 1, retryStrategy: reconnect }
/** The worker's: BullMQ requires `null` (its commands wait out a reconnection). */
const WORKER: RedisOptions = { maxRetriesPerRequest: null, retryStrategy: reconnect }

/** BullMQ's backoff strategy: the delay `deliver()` chose, carried by the error. */
const chosenDelay = (_attemptsMade: number, _type?: string, error?: Error) =>
  error instanceof RetryLater ? error.delayMs : 0

/** A delay in whole milliseconds, rounded up: never early. */
const delayMs = (options: SendOptions | undefined) => Math.ceil(delayOf(options) * 1000)

/**
 * Refuses a job that JSON would not carry unchanged (BullMQ stores jobs as JSON): functions,
 * symbols, bigints, `undefined` in an array or as the job, NaN and Infinity, cycles, and
 * objects other than plain ones and arrays (a `Date` would arrive as a string, a `Map` as `{}`).
 * One `JSON.stringify` pass with a replacer.
 */
function checkJson(queue: string, job: unknown): void {
  const refuse = (what: string, key: string) => {
    const where = key === '' ? 'the job' : `"${key}"`
    return new TypeError(
      `job queue ${queue}: jobs are stored as JSON, and ${where} is ${what}; send plain data`
    )
  }
  try {
    JSON.stringify(job, function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key] // before toJSON()
      switch (typeof raw) {
        case 'function':
        case 'symbol':
        case 'bigint':
          throw refuse(`a ${typeof raw}`, key)
        case 'undefined':
          if (key === '' || Array.isArray(this)) throw refuse('undefined', key)
          break
        case 'number':
          if (!Number.isFinite(raw)) throw refuse(String(raw), key)
          break
        case 'object': {
          if (raw === null || Array.isArray(raw)) break
          const proto = Object.getPrototypeOf(raw)
          if (proto !== Object.prototype && proto !== null) {
            throw refuse(`a ${proto?.constructor?.name ?? 'non-plain object'}`, key)
          }
        }
      }
      return value
    })
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith(`job queue ${queue}:`)) throw error
    throw new TypeError(`job queue ${queue}: the job cannot be stored as JSON`, { cause: error })
  }
}

/** Closes a connection the queue opened: QUIT, or a cut if Redis does not answer in time. */
async function quit(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return
  const quitting = client.quit().catch(() => {})
  if (!(await settlesWithin(quitting, QUIT_MS))) client.disconnect()
}

/**
 * A job queue on Redis, through BullMQ, shared by every process that opens it with the same
 * name and prefix: any of them sends, those that `start()` run the jobs. Sends are accepted
 * from construction; jobs run from `start()` on; `close()` stops taking jobs, lets running
 * ones finish (then aborts their `info.signal`) and closes the connections it opened.
 * `lifetime()` does both for `service.cleanupCtx`. Unlike `MemoryJobQueue`, jobs outlive
 * the process: what is waiting stays in Redis, and a job whose process died runs again.
 *
 * Jobs are stored as JSON: a job must be plain data (objects, arrays, strings, finite
 * numbers, booleans, null); `send()` refuses anything else with a `TypeError` rather than
 * let it arrive changed. The producer and the workers must share the consumer definition:
 * `maxRetries` is written into each job (BullMQ's `attempts`).
 *
 * Delays and backoffs are never early (whole milliseconds, BullMQ's `Date.now()` clock).
 * A worker waits for the next delayed job with a blocking Redis call whose timeout Redis
 * checks `hz` times a second, so on an otherwise idle server a delayed job starts up to
 * 100 ms late at Redis's default `hz 10` (about 10 ms with `hz 100`).
 *
 * @example
 * ```ts
 * import { RedisJobQueue } from 'edgeio/redis'
 *
 * const jobs = new RedisJobQueue(thumbnails, {
 *   connection: { url: process.env.REDIS_URL! },
 *   name: 'thumbnails',
 * })
 * service.cleanupCtx(() => jobs.lifetime())
 * app.post('/images/:id', async (c) => {
 *   await jobs.send({ imageId: c.req.param('id') }, { delaySeconds: 10 })
 *   return c.body(null, 202)
 * })
 * ```
 */
export class RedisJobQueue<T, E = undefined> implements JobQueue<T> {
  readonly name: string
  readonly #consumer: JobConsumer<T, E>
  /** The consumer whose `handle` records why a delivery failed, for BullMQ's record. */
  readonly #recording: JobConsumer<T, E>
  readonly #failures = new WeakMap<JobInfo<E>, unknown>()
  readonly #env: E
  readonly #drainTimeout: number
  readonly #prefix: string
  readonly #lockDuration: number
  readonly #stalledInterval: number
  readonly #maxStalledCount: number
  readonly #connection: RedisJobQueueConnection
  /** Typed loosely: BullMQ's generics do not resolve for an open `T`; sends are checked here. */
  readonly #queue: Queue<unknown, void, string>
  /** The connections this queue opened, closed by `close()`. */
  readonly #owned: (Redis | Cluster)[] = []
  #worker: RetryingWorker<T> | undefined
  #state: State = 'idle'
  #abort: AbortController | undefined
  #closing: Promise<void> | undefined
  #changed: PromiseWithResolvers<void> | undefined
  #batch: Promise<void> | undefined
  #lastError = ''

  constructor(consumer: JobConsumer<T, E>, options: RedisJobQueueOptions<E>) {
    this.#consumer = consumer
    const failures = this.#failures
    this.#recording = {
      ...consumer,
      async handle(job, info) {
        try {
          await consumer.handle(job, info)
        } catch (error) {
          failures.set(info, error)
          throw error
        }
      },
    }
    this.name = options.name ?? 'jobs'
    this.#env = options.env as E
    this.#drainTimeout = nonNegative('drainTimeout', options.drainTimeout ?? 10_000)
    this.#prefix = prefixFor(options.connection, options.prefix)
    this.#lockDuration = positive('lockDuration', options.lockDuration ?? 30_000)
    this.#stalledInterval = positive('stalledInterval', options.stalledInterval ?? 5_000)
    this.#maxStalledCount = nonNegative(
      'maxStalledCount',
      options.maxStalledCount ?? consumer.maxRetries + 1
    )
    this.#connection = options.connection
    const connection =
      'client' in options.connection
        ? options.connection.client
        : this.#own(new Redis(options.connection.url, PRODUCER))
    this.#queue = new Queue<unknown, void, string>(this.name, {
      connection,
      prefix: this.#prefix,
      defaultJobOptions: {
        attempts: consumer.maxRetries + 1,
        backoff: { type: BACKOFF },
        removeOnComplete: true,
        removeOnFail: false,
      },
    })
    this.#queue.on('error', (error) => this.#report(error))
  }

  async send(job: T, options?: SendOptions): Promise<void> {
    const delay = delayMs(options)
    this.#checkOpen()
    checkJson(this.name, job)
    await this.#queue.add(this.name, job, delay > 0 ? { delay } : undefined)
  }

  async sendBatch(jobs: Iterable<T>, options?: SendOptions): Promise<void> {
    const delay = delayMs(options)
    this.#checkOpen()
    const all = Array.from(jobs)
    for (const job of all) checkJson(this.name, job)
    if (all.length === 0) return
    const opts = delay > 0 ? { delay } : undefined
    await this.#queue.addBulk(all.map((data) => ({ name: this.name, data, opts })))
  }

  /** Starts running jobs in this process (idempotent): opens the worker's connections. */
  start(): void {
    if (this.#state !== 'idle') return
    this.#state = 'started'
    const connection = this.#own(
      'client' in this.#connection
        ? duplicateForWorker(this.#connection.client)
        : new Redis(this.#connection.url, WORKER)
    )
    const worker = new RetryingWorker<T>(this.name, (job) => this.#process(job), {
      connection,
      prefix: this.#prefix,
      concurrency: this.#consumer.concurrency,
      lockDuration: this.#lockDuration,
      stalledInterval: this.#stalledInterval,
      maxStalledCount: this.#maxStalledCount,
      settings: { backoffStrategy: chosenDelay },
    })
    worker.on('error', (error) => this.#report(error))
    worker.on('completed', () => this.#wake())
    worker.on('failed', () => this.#wake())
    this.#worker = worker
  }

  /**
   * Resolves once the queue has no job waiting, delayed (a retry included) or running, in
   * any process. It asks Redis again whenever this process's worker finishes a job, and at
   * least every 200 ms for the others'. After `close()` it resolves at once.
   */
  async idle(): Promise<void> {
    while (this.#state !== 'closed') {
      this.#changed ??= Promise.withResolvers()
      const changed = this.#changed.promise
      let counts: Record<string, number>
      try {
        counts = await this.#queue.getJobCounts(
          'active',
          'wait',
          'delayed',
          'prioritized',
          'waiting-children'
        )
      } catch (error) {
        if (this.#closed()) return
        throw error
      }
      if (Object.values(counts).every((n) => n === 0)) return
      await settlesWithin(changed, IDLE_POLL_MS)
    }
  }

  /**
   * Stops accepting sends (they reject with `JobQueueClosed`) and taking jobs; waits up to
   * `drainTimeout` for running ones, then aborts their `info.signal` and waits 1 s more;
   * closes the connections it opened. Jobs not run stay in Redis for the next worker.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /** `start()`, then, at cleanup, `close()`: for `service.cleanupCtx(() => queue.lifetime())`. */
  async *lifetime(): AsyncGenerator<unknown, void, void> {
    this.start()
    try {
      yield
    } finally {
      await this.close()
    }
  }

  async #close(): Promise<void> {
    this.#state = 'closing'
    const worker = this.#worker
    if (worker) {
      // BullMQ's close stops fetching and waits for running jobs, their outcome recorded.
      const stopped = worker.close()
      if (!(await settlesWithin(stopped, this.#drainTimeout))) {
        console.warn(`edgeio: job queue ${this.name}: jobs still running after the drain time`)
        this.#abort?.abort(new JobQueueClosed(`job queue ${this.name} is closing`))
        if (!(await settlesWithin(stopped, ABORT_GRACE_MS))) {
          // A handler ignores its signal: cut the worker off. Its job can no longer be
          // acknowledged; its lock lapses and another worker runs it again.
          console.warn(`edgeio: job queue ${this.name}: a job ignored the abort; cutting it off`)
          await worker.disconnect().catch(() => {})
        }
      }
    }
    await this.#queue.close().catch((error) => this.#report(error))
    await Promise.all(this.#owned.map(quit))
    this.#state = 'closed'
    this.#wake()
  }

  /** Runs one delivery: `deliver()` decides, and a retry is thrown back to BullMQ. */
  async #process(job: Job<T, void, string>): Promise<void> {
    // BullMQ hands jobs over one round trip apart; jobs handed over in the same macrotask
    // start together, so that lanes overlap as they do in process and on Workers (a batch).
    if (this.#consumer.concurrency > 1) await this.#together()
    this.#abort ??= new AbortController()
    const info: JobInfo<E> = {
      id: job.id!,
      // Every delivery counts, one cut short by a dying process too (as on Cloudflare).
      attempt: job.attemptsStarted,
      enqueuedAt: new Date(job.timestamp),
      queue: this.name,
      env: this.#env,
      signal: this.#abort.signal,
    }
    const outcome =
      info.attempt > this.#consumer.maxRetries + 1
        ? // The last allowed delivery died without an outcome: it failed, so dead-letter.
          await deliver(this.#lost(info.attempt - 1), job.data, info)
        : await deliver(this.#recording, job.data, info)
    if (outcome.kind === 'retry') {
      throw new RetryLater(Math.ceil(outcome.delaySeconds * 1000), this.#failures.get(info))
    }
  }

  /** A consumer whose delivery fails at once with {@link DeliveryLostError}. */
  #lost(deliveries: number): JobConsumer<T, E> {
    const error = new DeliveryLostError(
      `job queue ${this.name}: the process handling delivery ${deliveries} stopped before it ended`
    )
    return {
      ...this.#consumer,
      handle() {
        throw error
      },
    }
  }

  /**
   * Resolves for every delivery that asks before it does: once the worker is fetching no
   * job (the jobs ready now have arrived) and a macrotask has passed (their deliveries have
   * asked). Waiting for the fetches is what makes it hold on Deno too, where a macrotask
   * alone may end before the next job's round trip does.
   */
  #together(): Promise<void> {
    this.#batch ??= (async () => {
      const worker = this.#worker
      do {
        await worker?.fetchesSettled()
        await new Promise((resolve) => setImmediate(resolve))
      } while (worker?.fetching)
      this.#batch = undefined
    })()
    return this.#batch
  }

  #closed(): boolean {
    return this.#state === 'closing' || this.#state === 'closed'
  }

  #checkOpen(): void {
    if (this.#closed()) throw new JobQueueClosed(`job queue ${this.name} is closed`)
  }

  #own<C extends Redis | Cluster>(client: C): C {
    this.#owned.push(client)
    return client
  }

  #wake(): void {
    this.#changed?.resolve()
    this.#changed = undefined
  }

  /** Logs BullMQ's and the connections' errors, once per run of the same message. */
  #report(error: Error): void {
    if (this.#state === 'closed' || error.message === this.#lastError) return
    this.#lastError = error.message
    console.error(`edgeio: job queue ${this.name}:`, error)
  }
}

/** The worker's connection on the caller's client: BullMQ requires `maxRetriesPerRequest: null`. */
function duplicateForWorker(client: Redis | Cluster): Redis | Cluster {
  if (client.isCluster) {
    return (client as Cluster).duplicate([], { redisOptions: { maxRetriesPerRequest: null } })
  }
  return (client as Redis).duplicate({ maxRetriesPerRequest: null })
}

/**
 * The queue's key prefix. On a Cluster it must hold a hash tag: BullMQ's scripts touch several
 * keys of a queue at once, which Redis Cluster allows only within one slot.
 */
function prefixFor(connection: RedisJobQueueConnection, prefix: string | undefined): string {
  const cluster = 'client' in connection && connection.client.isCluster
  if (prefix === undefined) return cluster ? '{edgeio:jobs}' : 'edgeio:jobs'
  // Redis hashes the text between the first `{` and the next `}`, when that is not empty.
  const open = prefix.indexOf('{')
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1)
  if (cluster && !(open >= 0 && close > open + 1)) {
    throw new RangeError(
      `on a Redis Cluster the job queue's prefix needs a hash tag, so that all of a queue's keys share one slot: got ${JSON.stringify(prefix)}, use e.g. ${JSON.stringify(`{${prefix}}`)}`
    )
  }
  return prefix
}

function positive(what: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${what} must be a positive number of milliseconds, got ${value}`)
  }
  return value
}

function nonNegative(what: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${what} must be a non-negative number, got ${value}`)
  }
  return value
}
