import type { WaitOptions } from '../sync/waiter.ts'

/**
 * Resolves after `ms` milliseconds; an abort clears the timer and rejects with
 * `signal.reason` (at once if the signal is already aborted).
 *
 * @example
 * ```ts
 * await sleep(100, { signal: AbortSignal.timeout(50) }) // rejects with a TimeoutError
 * ```
 */
export function sleep(ms: number, opts?: WaitOptions): Promise<void> {
  const signal = opts?.signal
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
