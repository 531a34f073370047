import { instrumentation } from '../../telemetry/instrumentation.ts'
import {
  ATTR_JOB_OUTCOME,
  ATTR_JOB_QUEUE,
  type JobAttemptOutcome,
  METRIC_JOB_ATTEMPTS,
} from '../../telemetry/names.ts'
import type {
  Backoff,
  JobConsumer,
  JobConsumerOptions,
  JobInfo,
  JobOutcome,
  SendOptions,
} from './types.ts'

/** The longest delay Cloudflare Queues accept (12 hours); the in-process queue keeps to it. */
export const MAX_DELAY_SECONDS = 43_200

/**
 * A backoff that doubles from `baseSeconds` after each failed delivery, capped at
 * `maxSeconds`: 1, 2, 4, 8, … with the defaults (1 s, at most 60 s).
 *
 * @example
 * ```ts
 * const consumer = defineJobConsumer({ handle, backoff: exponentialBackoff({ baseSeconds: 5 }) })
 * ```
 */
export function exponentialBackoff({
  baseSeconds = 1,
  maxSeconds = 60,
}: {
  baseSeconds?: number
  maxSeconds?: number
} = {}): Backoff {
  return function exponentialBackoff(attempt) {
    return Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1))
  }
}

function defaultDeadLetter(_job: unknown, error: unknown, info: JobInfo): void {
  console.error(
    `edgeio: job ${info.id} on ${info.queue} dead-lettered after ${info.attempt} attempt(s):`,
    error
  )
}

/**
 * Declares how the jobs of one queue are handled, retried and given up on. The same
 * definition drives the Cloudflare Queues backend (`queueHandler`) and the in-process one
 * (`MemoryJobQueue`).
 *
 * @example
 * ```ts
 * const emails = defineJobConsumer<{ to: string }>({
 *   async handle(job, { attempt }) {
 *     await sendEmail(job.to) // throw to retry
 *   },
 *   maxRetries: 5,
 *   backoff: exponentialBackoff({ baseSeconds: 2 }),
 *   onDeadLetter(job, error) {
 *     console.error('giving up on', job.to, error)
 *   },
 * })
 * ```
 */
export function defineJobConsumer<T, E = unknown>(
  options: JobConsumerOptions<T, E>
): JobConsumer<T, E> {
  const { maxRetries = 3, concurrency = 1 } = options
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new RangeError(`maxRetries must be a non-negative integer, got ${maxRetries}`)
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  }
  return Object.freeze({
    handle: options.handle,
    maxRetries,
    backoff: options.backoff ?? exponentialBackoff(),
    onDeadLetter: options.onDeadLetter ?? defaultDeadLetter,
    concurrency,
  })
}

/** Checks a send's delay: a bad one throws here rather than far away in a timer. */
export function delayOf(options: SendOptions | undefined): number {
  const delay = options?.delaySeconds ?? 0
  if (!Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new RangeError(`delaySeconds must be from 0 to ${MAX_DELAY_SECONDS}, got ${delay}`)
  }
  return delay
}

/** The backoff's answer kept within what a queue accepts; a throwing backoff means 0. */
function backoffDelay(backoff: Backoff, attempt: number): number {
  let wanted: number
  try {
    wanted = Number(backoff(attempt))
  } catch (error) {
    console.error('edgeio: backoff failed; retrying without delay:', error)
    return 0
  }
  return Number.isFinite(wanted) ? Math.min(MAX_DELAY_SECONDS, Math.max(0, wanted)) : 0
}

/**
 * Runs one delivery and decides its fate, the one rule both backends apply: success is
 * done; a failure is retried after `backoff(attempt)` seconds while `attempt <= maxRetries`;
 * the failure of the last allowed delivery calls `onDeadLetter` and is done with. A
 * throwing `onDeadLetter` is logged, not retried (it would dead-letter forever).
 */
export function deliver<T, E>(
  consumer: JobConsumer<T, E>,
  job: T,
  info: JobInfo<E>
): Promise<JobOutcome> {
  const decided = decide(consumer, job, info)
  // Uninstrumented, the delivery costs no extra turn (and no closure).
  if (instrumentation === undefined) return decided
  return counted(decided, info.queue)
}

function counted(decided: Promise<JobOutcome>, queue: string): Promise<JobOutcome> {
  return decided.then((outcome) => {
    instrumentation?.add(METRIC_JOB_ATTEMPTS, 1, {
      [ATTR_JOB_QUEUE]: queue,
      [ATTR_JOB_OUTCOME]: ATTEMPT_OUTCOMES[outcome.kind],
    })
    return outcome
  })
}

/** How a delivery's fate is counted in `edgeio.job.attempts`. */
const ATTEMPT_OUTCOMES: Readonly<Record<JobOutcome['kind'], JobAttemptOutcome>> = {
  done: 'succeeded',
  retry: 'retried',
  'dead-lettered': 'dead_lettered',
}

async function decide<T, E>(
  consumer: JobConsumer<T, E>,
  job: T,
  info: JobInfo<E>
): Promise<JobOutcome> {
  try {
    await consumer.handle(job, info)
    return { kind: 'done' }
  } catch (error) {
    if (info.attempt <= consumer.maxRetries) {
      return { kind: 'retry', delaySeconds: backoffDelay(consumer.backoff, info.attempt) }
    }
    try {
      await consumer.onDeadLetter(job, error, info)
    } catch (deadLetterError) {
      console.error(`edgeio: onDeadLetter failed for job ${info.id}:`, deadLetterError)
    }
    return { kind: 'dead-lettered', error }
  }
}
