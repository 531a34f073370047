/**
 * Errors of the Redis coordinator. A Redis that cannot be reached must look like a Durable
 * Object that restarted: a transient failure (`retryable`), which `lease.ts` retries with
 * back-off and the same waiter id, until it gives up with `CoordinatorUnavailableError`.
 */

/**
 * Redis did not answer in time, the connection is down, or Redis said it is momentarily
 * unable (loading its data, busy, a failover in progress). Retrying the call is safe: every
 * call is idempotent or re-attaches by waiter id. The cause is the client's own error.
 *
 * @example
 * ```ts
 * try {
 *   await stub.inspect('lock:a')
 * } catch (error) {
 *   if (error instanceof RedisUnavailableError) return c.text('try again', 503)
 *   throw error
 * }
 * ```
 */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError'
  /** Read by `isTransient()` (src/distributed/errors.ts). */
  readonly retryable = true
}

/** Error replies that say "not now" rather than "wrong": retried like a lost connection. */
const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY']

/**
 * What a failed Redis call should throw: a {@link RedisUnavailableError} for a connection
 * failure (ioredis's own errors: closed, timed out, retries spent) or a transient error
 * reply; the error itself when it is a real error reply (a script or argument bug) or an
 * argument refused before anything was sent.
 */
export function redisFailure(what: string, error: unknown): unknown {
  if (error instanceof RedisUnavailableError) return error
  if (error instanceof RangeError || error instanceof TypeError) return error
  if (!(error instanceof Error)) return new RedisUnavailableError(what, { cause: error })
  if (error.name === 'ReplyError' && !TRANSIENT_REPLIES.some((p) => error.message.startsWith(p))) {
    return error
  }
  return new RedisUnavailableError(`${what}: ${error.message}`, { cause: error })
}
