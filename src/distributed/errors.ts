/**
 * A lease ended without being released: it expired (its holder did not renew in time) and
 * the coordinator may already have passed the permit on. Work guarded by it must stop, and
 * writes must carry the fencing token so that the store can refuse them.
 */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError'
}

/** The coordinator kept failing with transient errors (restarts, lost connections). */
export class CoordinatorUnavailableError extends Error {
  override name = 'CoordinatorUnavailableError'
}

/** `release()` on a lock or semaphore of which this instance holds nothing. */
export class NotHeldError extends Error {
  override name = 'NotHeldError'
}

/**
 * A coordinator object was reset while a call was in flight (Durable Object restart, or
 * {@link LocalCoordinator.restart}). Its state is in storage: retrying the call is safe.
 * Carries the same flags as workerd's own reset errors.
 */
export class CoordinatorResetError extends Error {
  override name = 'CoordinatorResetError'
  readonly durableObjectReset = true
  readonly retryable = true
}

/**
 * Transient failures worth retrying with the same waiter id: a reset object, a lost
 * connection. An overloaded object is not retried (Cloudflare's advice: back off instead).
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const flags = error as { retryable?: unknown; overloaded?: unknown; durableObjectReset?: unknown }
  if (flags.overloaded === true) return false
  return flags.retryable === true || flags.durableObjectReset === true
}
