// The names edgeio reports under: span names, metric names, attribute keys and values.
// They are a contract (dashboards, alerts and the conformance tests match them): add to
// them, never rename. OpenTelemetry style: dotted, lower case, under `edgeio.`.

/** Instrumentation scope of edgeio's tracer and meter. */
export const SCOPE_NAME = 'edgeio'

// ---- Attribute keys ----------------------------------------------------------------------

/** Class of the primitive that waited: `'Semaphore'`, `'Lock'`, `'Queue'`, `'DistributedLock'`… */
export const ATTR_PRIMITIVE = 'edgeio.primitive'
/** The `name` given to the primitive (only named primitives report their waits). */
export const ATTR_PRIMITIVE_NAME = 'edgeio.primitive.name'
/** How a wait ended: one of {@link WaitOutcome}. */
export const ATTR_WAIT_OUTCOME = 'edgeio.wait.outcome'
/** `rateLimit()` decision, on the request span and on {@link METRIC_RATE_LIMIT_DECISIONS}: `'allowed'` | `'limited'`. */
export const ATTR_RATE_LIMIT_OUTCOME = 'edgeio.rate_limit.outcome'
/**
 * `concurrencyLimit()` decision, on the request span: `'queued'` (admitted after waiting in
 * line) | `'shed'` (refused with 503, reason in {@link ATTR_CONCURRENCY_LIMIT_REASON}). A
 * request admitted at once carries nothing (the fast path records nothing).
 */
export const ATTR_CONCURRENCY_LIMIT_OUTCOME = 'edgeio.concurrency_limit.outcome'
/** `concurrencyLimit()` shed reason on {@link METRIC_CONCURRENCY_LIMIT_SHED}: `'busy'` | `'timeout'`. */
export const ATTR_CONCURRENCY_LIMIT_REASON = 'edgeio.concurrency_limit.reason'
/** `true` on the request span of a request whose `deadline()` passed (a 504). */
export const ATTR_DEADLINE_EXPIRED = 'edgeio.deadline.expired'
/** `coalesce()` role of a request served by another's run, on its span: `'follower'`. */
export const ATTR_COALESCE_ROLE = 'edgeio.coalesce.role'
/** Name of the middleware instance or executor, when it was given one (`name` option). */
export const ATTR_NAME = 'edgeio.name'
/** The task an executor ran (its export name in the task module). */
export const ATTR_EXECUTOR_TASK = 'edgeio.executor.task'
/** How an executor task ended: `'ok'` | `'error'` | `'cancelled'` (aborted or force-closed). */
export const ATTR_EXECUTOR_OUTCOME = 'edgeio.executor.outcome'
/** Job queue name. */
export const ATTR_JOB_QUEUE = 'edgeio.job.queue'
/** How a job attempt ended: one of {@link JobAttemptOutcome}. */
export const ATTR_JOB_OUTCOME = 'edgeio.job.outcome'
/** How a distributed acquire ended: `'acquired'` | `'aborted'` (its signal, a timeout included) | `'error'`. */
export const ATTR_DISTRIBUTED_OUTCOME = 'edgeio.distributed.outcome'

// ---- Attribute values --------------------------------------------------------------------

/**
 * How a wait ended. `'acquired'`: it got what it waited for (permit, lock, item, free slot,
 * event, notify, full barrier). `'aborted'`: its signal fired (not an error: the span's
 * status stays unset). `'shutdown'`: the queue was shut down. `'broken'`: the barrier was
 * reset or aborted. `'stalled'`: the keep-alive stall limit passed (workerd). `'error'`:
 * anything else (status ERROR).
 */
export type WaitOutcome = 'acquired' | 'aborted' | 'shutdown' | 'broken' | 'stalled' | 'error'
/** `rateLimit()` decisions. */
export type RateLimitOutcome = 'allowed' | 'limited'
/** `concurrencyLimit()` decisions recorded on the request span. */
export type ConcurrencyLimitOutcome = 'queued' | 'shed'
/** A job attempt's end: done, failed and scheduled again, or failed for the last time. */
export type JobAttemptOutcome = 'succeeded' | 'retried' | 'dead_lettered'

// ---- Spans -------------------------------------------------------------------------------

/**
 * A parked wait of a named primitive: `'<Class>.<method> <name>'`, e.g. `'Semaphore.acquire db'`,
 * `'Lock.acquire cache'`, `'Queue.get jobs'`, `'Queue.put jobs'`, `'Event.wait ready'`,
 * `'Condition.wait c'`, `'Barrier.wait b'`. Kind INTERNAL, child of the active span, never
 * made active itself (what the caller does next is its sibling). Attributes
 * {@link ATTR_PRIMITIVE}, {@link ATTR_PRIMITIVE_NAME}, {@link ATTR_WAIT_OUTCOME}.
 *
 * @example
 * ```ts
 * waitSpanName('Semaphore', 'acquire', 'db') // 'Semaphore.acquire db'
 * ```
 */
export function waitSpanName(primitive: string, method: string, name: string | undefined): string {
  return name === undefined ? `${primitive}.${method}` : `${primitive}.${method} ${name}`
}
/** `concurrencyLimit()`'s queue wait: a wait span with primitive `'concurrencyLimit'`. */
export const SPAN_CONCURRENCY_LIMIT_WAIT = 'concurrencyLimit.wait'
/**
 * Primitive attribute of a distributed lock; its acquire (all its round trips) is the wait
 * span `'DistributedLock.acquire <name>'`.
 */
export const PRIMITIVE_DISTRIBUTED_LOCK = 'DistributedLock'
/** Primitive attribute of a distributed semaphore (`'DistributedSemaphore.acquire <name>'`). */
export const PRIMITIVE_DISTRIBUTED_SEMAPHORE = 'DistributedSemaphore'

// ---- Metrics -----------------------------------------------------------------------------

/** Histogram (s): time parked, per wait, attributes as the wait span's. */
export const METRIC_WAIT_DURATION = 'edgeio.wait.duration'
/** Up-down counter: requests waiting in `concurrencyLimit()`'s line now. */
export const METRIC_CONCURRENCY_LIMIT_QUEUED = 'edgeio.concurrency_limit.queued'
/** Counter: requests refused with 503 by `concurrencyLimit()` (reason `'busy'` | `'timeout'`). */
export const METRIC_CONCURRENCY_LIMIT_SHED = 'edgeio.concurrency_limit.shed'
/** Counter: `rateLimit()` decisions, by {@link ATTR_RATE_LIMIT_OUTCOME}. */
export const METRIC_RATE_LIMIT_DECISIONS = 'edgeio.rate_limit.decisions'
/** Counter: requests whose `deadline()` passed (answered 504). */
export const METRIC_DEADLINE_EXPIRED = 'edgeio.deadline.expired'
/** Counter: requests served by `coalesce()` from another request's run (followers). */
export const METRIC_COALESCE_HITS = 'edgeio.coalesce.hits'
/** Histogram (s): time an executor task waited for a worker. */
export const METRIC_EXECUTOR_QUEUE_DURATION = 'edgeio.executor.queue.duration'
/** Histogram (s): time an executor task ran, by {@link ATTR_EXECUTOR_OUTCOME}. */
export const METRIC_EXECUTOR_RUN_DURATION = 'edgeio.executor.run.duration'
/** Counter: job attempts, by {@link ATTR_JOB_OUTCOME} and {@link ATTR_JOB_QUEUE}. */
export const METRIC_JOB_ATTEMPTS = 'edgeio.job.attempts'
/** Histogram (s): a distributed lock's / semaphore's acquire, from call to grant or failure. */
export const METRIC_DISTRIBUTED_ACQUIRE_DURATION = 'edgeio.distributed.acquire.duration'
/** Histogram ({round_trip}): round trips to the coordinator one distributed acquire took. */
export const METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS = 'edgeio.distributed.acquire.round_trips'
/** Counter: leases lost (expired or taken over before release). */
export const METRIC_LEASE_LOST = 'edgeio.lease.lost'
