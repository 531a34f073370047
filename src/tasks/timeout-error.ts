/**
 * A deadline passed: what `timeout()` rejects with and what `deadline()` aborts the
 * request's signal with. It shares its `name` with the `DOMException` that the platform's
 * own `AbortSignal.timeout()` aborts with, so code that checks `error.name` sees one kind
 * of timeout; {@link isTimeoutError} recognises both without a string comparison.
 */
export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

/**
 * Whether `error` is a timeout: edgeio's {@link TimeoutError} or the platform's
 * `DOMException` named `TimeoutError` (`AbortSignal.timeout()`, `fetch` under it).
 *
 * @example
 * ```ts
 * try {
 *   await fetch(url, { signal: AbortSignal.any([c.get('signal'), AbortSignal.timeout(500)]) })
 * } catch (error) {
 *   if (isTimeoutError(error)) return c.json({ error: 'upstream too slow' }, 504)
 *   throw error
 * }
 * ```
 */
export function isTimeoutError(error: unknown): boolean {
  return (
    error instanceof TimeoutError ||
    (error instanceof DOMException && error.name === 'TimeoutError')
  )
}
