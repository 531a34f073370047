/**
 * The job queue's shapes, shared by every backend: a producer (`JobQueue`) that sends jobs,
 * and a consumer definition (`JobConsumer`) that says how a job is handled, retried and
 * given up on. The Cloudflare Queues backend and the in-process one read the same
 * definition, so a job behaves the same on Workers, Node and Deno.
 */

/** How a job is sent. */
export interface SendOptions {
  /**
   * Seconds before the job may be delivered, 0 to 43200 (12 h, the Cloudflare Queues limit).
   * Cloudflare counts whole seconds (a fraction is rounded up); in process it is honoured
   * to the millisecond.
   */
  delaySeconds?: number
}

/**
 * The producer side of a queue: what a request handler holds to enqueue work. Delivery is
 * at least once, so a job must be safe to handle twice (key its effects by an id it carries).
 *
 * @example
 * ```ts
 * async function enqueue(jobs: JobQueue<{ userId: string }>) {
 *   await jobs.send({ userId: 'u1' }, { delaySeconds: 30 })
 *   await jobs.sendBatch([{ userId: 'u2' }, { userId: 'u3' }])
 * }
 * ```
 */
export interface JobQueue<T> {
  /** Enqueues one job. Resolves once the queue has accepted it (not once it was handled). */
  send(job: T, options?: SendOptions): Promise<void>
  /** Enqueues several jobs, all with the same options. */
  sendBatch(jobs: Iterable<T>, options?: SendOptions): Promise<void>
}

/** What a handler learns about the delivery it is handling. */
export interface JobInfo<E = unknown> {
  /** The message id: stable across the retries of one job. */
  readonly id: string
  /** Which delivery this is: 1 the first time, 2 on the first retry, … */
  readonly attempt: number
  /** When the job was sent. */
  readonly enqueuedAt: Date
  /** The queue's name (`queue` in wrangler.toml; the `name` option in process). */
  readonly queue: string
  /** The bindings: the Worker's `env` on Workers, the `env` option in process. */
  readonly env: E
  /**
   * Fires when the job should stop: in process, when a shutdown's drain time ran out.
   * Never fires on Workers, where the platform ends the invocation itself.
   */
  readonly signal: AbortSignal
}

/** Seconds to wait before delivering again after the `attempt`-th delivery failed. */
export type Backoff = (attempt: number) => number

/** What {@link defineJobConsumer} takes. */
export interface JobConsumerOptions<T, E = unknown> {
  /**
   * Handles one job. Returning (or resolving) acknowledges it; throwing (or rejecting)
   * asks for a retry after `backoff(attempt)` seconds, until `maxRetries` is used up.
   */
  handle(job: T, info: JobInfo<E>): void | Promise<void>
  /**
   * Retries after the first delivery before the job is dead-lettered: a job is handled at
   * most `maxRetries + 1` times. Default 3 (Cloudflare's default `max_retries`).
   */
  maxRetries?: number
  /** Seconds before a failed job is delivered again. Default `exponentialBackoff()`. */
  backoff?: Backoff
  /**
   * Called once when the last allowed delivery failed, with that delivery's error; the job
   * is then acknowledged (dropped). Store it somewhere durable if it matters. Default: logs.
   */
  onDeadLetter?(job: T, error: unknown, info: JobInfo<E>): void | Promise<void>
  /** Jobs handled at once (in process: in total; on Workers: per batch). Default 1. */
  concurrency?: number
}

/** A consumer definition with its defaults filled in, ready for any backend. */
export interface JobConsumer<T, E = unknown> {
  readonly handle: (job: T, info: JobInfo<E>) => void | Promise<void>
  readonly maxRetries: number
  readonly backoff: Backoff
  readonly onDeadLetter: (job: T, error: unknown, info: JobInfo<E>) => void | Promise<void>
  readonly concurrency: number
}

/** What a backend does with a delivery once its handler has run. */
export type JobOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly delaySeconds: number }
  | { readonly kind: 'dead-lettered'; readonly error: unknown }
