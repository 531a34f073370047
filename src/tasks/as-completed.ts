import type { WaitOptions } from '../sync/waiter.ts'

/**
 * Yields the values of `promises` in the order they settle, as asyncio's `as_completed`.
 * A rejection is thrown by the iteration at its turn (the rest are then ignored, never
 * unhandled). An abort of `signal` ends the iteration with `signal.reason`.
 *
 * @example
 * ```ts
 * for await (const page of asCompleted(urls.map((u) => fetch(u).then((r) => r.text())))) {
 *   console.log(page.length) // fastest first
 * }
 * ```
 */
export async function* asCompleted<T>(
  promises: Iterable<T | PromiseLike<T>>,
  opts?: WaitOptions
): AsyncGenerator<Awaited<T>, void, undefined> {
  const signal = opts?.signal
  if (signal?.aborted) throw signal.reason
  const done: PromiseSettledResult<Awaited<T>>[] = []
  let wake: (() => void) | undefined
  let total = 0
  for (const p of promises) {
    total++
    Promise.resolve(p).then(
      (value) => {
        done.push({ status: 'fulfilled', value })
        wake?.()
      },
      (reason: unknown) => {
        done.push({ status: 'rejected', reason })
        wake?.()
      }
    )
  }
  const onAbort = (): void => wake?.()
  signal?.addEventListener('abort', onAbort)
  try {
    for (let given = 0; given < total; given++) {
      while (done.length === 0) {
        if (signal?.aborted) throw signal.reason
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
      if (signal?.aborted) throw signal.reason
      const next = done.shift() as PromiseSettledResult<Awaited<T>>
      if (next.status === 'rejected') throw next.reason
      yield next.value
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}
