import type { WaitOptions } from '../sync/waiter.ts'
import { isTimeoutError, TimeoutError } from './timeout-error.ts'

/**
 * Runs `fn` with a signal that aborts after `ms` milliseconds, as asyncio's `timeout()`.
 *
 * At the deadline the signal aborts with a {@link TimeoutError}; `timeout` still waits for
 * `fn` to settle (so no work outlives it), then rejects with that `TimeoutError`, unless
 * `fn` failed with an unrelated error (which wins) or returned a value anyway (returned).
 * An abort of the outer `signal` aborts `fn` too and rejects with the outer reason.
 *
 * @example
 * ```ts
 * const body = await timeout(2_000, (signal) => fetch(url, { signal }).then((r) => r.text()))
 * ```
 */
export async function timeout<R>(
  ms: number,
  fn: (signal: AbortSignal) => R | PromiseLike<R>,
  opts?: WaitOptions
): Promise<Awaited<R>> {
  const outer = opts?.signal
  if (outer?.aborted) throw outer.reason
  const controller = new AbortController()
  const onOuterAbort = (): void => controller.abort(outer?.reason)
  outer?.addEventListener('abort', onOuterAbort, { once: true })
  const timer = setTimeout(() => controller.abort(new TimeoutError(`timed out after ${ms} ms`)), ms)
  try {
    return await fn(controller.signal)
  } catch (error) {
    // The work failing because of our own abort is the timeout (or the outer abort).
    if (controller.signal.aborted && isAbortOf(error, controller.signal.reason)) {
      throw controller.signal.reason
    }
    throw error
  } finally {
    clearTimeout(timer)
    outer?.removeEventListener('abort', onOuterAbort)
  }
}

function isAbortOf(error: unknown, reason: unknown): boolean {
  if (error === reason) return true
  // Work that wraps the signal in its own abort (fetch, streams) rejects with an
  // `AbortError` of its own, or with the platform's timeout when it combined the signal
  // with `AbortSignal.timeout()`.
  return isTimeoutError(error) || (error as { name?: unknown } | null)?.name === 'AbortError'
}
