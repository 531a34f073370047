/**
 * The Cloudflare Queues backend. The bindings are typed structurally (src/ cannot import
 * `cloudflare:*`): a `Queue` producer binding is a {@link QueueBindingLike}, the batch a
 * `queue()` handler receives is a {@link MessageBatchLike}.
 */
import { delayOf, deliver } from './consumer.ts'
import type { JobConsumer, JobInfo, JobQueue, SendOptions } from './types.ts'

/** The part of a Cloudflare `Queue` producer binding the job queue uses. */
export interface QueueBindingLike<T> {
  send(body: T, options?: { delaySeconds?: number }): Promise<unknown>
  sendBatch(
    messages: Iterable<{ body: T; delaySeconds?: number }>,
    options?: { delaySeconds?: number }
  ): Promise<unknown>
}

/** The part of a Cloudflare Queues `Message` the consumer uses. */
export interface MessageLike<T> {
  readonly id: string
  readonly timestamp: Date
  readonly body: T
  /** 1 on the first delivery. */
  readonly attempts: number
  ack(): void
  retry(options?: { delaySeconds?: number }): void
}

/** The part of a Cloudflare Queues `MessageBatch` the consumer uses. */
export interface MessageBatchLike<T> {
  readonly queue: string
  readonly messages: readonly MessageLike<T>[]
}

/** A `queue()` export for a module worker. */
export type QueueHandler<T, E> = (batch: MessageBatchLike<T>, env: E, ctx: unknown) => Promise<void>

/** Cloudflare caps a `sendBatch` at 100 messages. */
const MAX_BATCH_MESSAGES = 100

/** Cloudflare counts delays in whole seconds; rounding up never delivers early. */
const wholeSeconds = (seconds: number) => Math.ceil(seconds)

/**
 * A producer over a Cloudflare Queues binding (`[[queues.producers]]` in wrangler.toml).
 * It is a thin wrapper: cheap to make per request from `c.env`.
 *
 * @example
 * ```ts
 * app.post('/signup', async (c) => {
 *   const jobs = new CloudflareJobQueue<Welcome>(c.env.JOBS)
 *   await jobs.send({ email: 'a@example.com' }, { delaySeconds: 60 })
 *   return c.body(null, 202)
 * })
 * ```
 */
export class CloudflareJobQueue<T> implements JobQueue<T> {
  readonly #binding: QueueBindingLike<T>

  constructor(binding: QueueBindingLike<T>) {
    this.#binding = binding
  }

  async send(job: T, options?: SendOptions): Promise<void> {
    await this.#binding.send(job, { delaySeconds: wholeSeconds(delayOf(options)) })
  }

  async sendBatch(jobs: Iterable<T>, options?: SendOptions): Promise<void> {
    const delaySeconds = wholeSeconds(delayOf(options))
    const all = Array.from(jobs, (body) => ({ body }))
    for (let start = 0; start < all.length; start += MAX_BATCH_MESSAGES) {
      await this.#binding.sendBatch(all.slice(start, start + MAX_BATCH_MESSAGES), { delaySeconds })
    }
  }
}

/**
 * The `queue()` handler of a module worker, running `consumer` on each message of a batch
 * (up to `consumer.concurrency` at once): success acks it; a failure retries it after
 * `backoff(attempts)` seconds; the failure of the last allowed attempt calls `onDeadLetter`
 * and acks. Set the consumer's `max_retries` in wrangler.toml above `consumer.maxRetries`,
 * or the platform drops the message before `onDeadLetter` can see it.
 *
 * @example
 * ```ts
 * import { toWorker } from 'edgeio/workers'
 * export default toWorker(service, { queue: queueHandler(emails) })
 * ```
 */
export function queueHandler<T, E = unknown>(consumer: JobConsumer<T, E>): QueueHandler<T, E> {
  return async function queue(batch, env) {
    // Nothing aborts a delivery on Workers: the platform ends the invocation itself.
    const signal = new AbortController().signal
    const messages = batch.messages
    let next = 0
    async function lane(): Promise<void> {
      while (next < messages.length) {
        const message = messages[next++]!
        const info: JobInfo<E> = {
          id: message.id,
          attempt: message.attempts,
          enqueuedAt: message.timestamp,
          queue: batch.queue,
          env,
          signal,
        }
        const outcome = await deliver(consumer, message.body, info)
        if (outcome.kind === 'retry') {
          message.retry({ delaySeconds: wholeSeconds(outcome.delaySeconds) })
        } else message.ack()
      }
    }
    const lanes = Math.min(consumer.concurrency, messages.length)
    await Promise.all(Array.from({ length: lanes }, lane))
  }
}
