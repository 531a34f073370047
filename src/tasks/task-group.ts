import type { WaitOptions } from '../sync/waiter.ts'

/** The reason a group aborts its signal with when one of its tasks fails. */
export class TaskGroupAbort extends Error {
  override name = 'AbortError'
}

/**
 * Structured concurrency, as asyncio's `TaskGroup`: tasks spawned in the group are all
 * settled before `TaskGroup.run` settles.
 *
 * The first failure aborts the group's signal (every task receives it), the group waits for
 * every task to settle, then `run` rejects with an `AggregateError` of every failure (the
 * aborts the group itself caused are left out). An abort of the outer signal aborts the
 * tasks the same way and rejects with the outer reason when nothing else failed.
 *
 * @example
 * ```ts
 * const [a, b] = await TaskGroup.run(async (tg) => {
 *   const a = tg.spawn((signal) => fetch(urlA, { signal }).then((r) => r.json()))
 *   const b = tg.spawn((signal) => fetch(urlB, { signal }).then((r) => r.json()))
 *   return [a, b] as const
 * }).then(([a, b]) => Promise.all([a, b]))
 * ```
 */
export class TaskGroup {
  readonly #controller = new AbortController()
  readonly #errors: unknown[] = []
  #pending = 0
  #finished = false
  #onIdle: (() => void) | undefined = undefined

  /** Aborted on the first failure, or when the outer signal aborts. */
  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /**
   * Runs `body` with a fresh group and resolves with its result once every task spawned in
   * the group has settled.
   */
  static async run<R>(
    body: (tg: TaskGroup) => R | PromiseLike<R>,
    opts?: WaitOptions
  ): Promise<Awaited<R>> {
    const outer = opts?.signal
    if (outer?.aborted) throw outer.reason
    const tg = new TaskGroup()
    const onOuterAbort = (): void => tg.#controller.abort(outer?.reason)
    outer?.addEventListener('abort', onOuterAbort, { once: true })
    let result: Awaited<R> | undefined
    try {
      // The body is part of the group: its failure aborts the tasks like a task failure.
      result = await tg.#track(async () => body(tg))
    } catch {
      // recorded by #track
    }
    try {
      if (tg.#pending > 0) {
        await new Promise<void>((resolve) => {
          tg.#onIdle = resolve
        })
      }
    } finally {
      tg.#finished = true
      outer?.removeEventListener('abort', onOuterAbort)
    }
    if (tg.#errors.length > 0) {
      throw new AggregateError(tg.#errors, 'unhandled errors in a TaskGroup')
    }
    if (outer?.aborted) throw outer.reason
    return result as Awaited<R>
  }

  /**
   * Starts `fn(signal)` in the group and returns its promise. That promise's rejection is
   * also reported by `run`, so it never becomes an unhandled rejection. Throws once the
   * group has finished or is aborting.
   */
  spawn<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Promise<Awaited<T>> {
    if (this.#finished) throw new Error('TaskGroup is finished')
    if (this.#controller.signal.aborted) throw new Error('TaskGroup is shutting down')
    const signal = this.#controller.signal
    return this.#track(() => fn(signal))
  }

  #track<T>(fn: () => T | PromiseLike<T>): Promise<Awaited<T>> {
    this.#pending++
    let promise: Promise<Awaited<T>>
    try {
      promise = Promise.resolve(fn()) as Promise<Awaited<T>>
    } catch (error) {
      promise = Promise.reject(error)
    }
    promise.then(
      () => this.#settled(),
      (error: unknown) => {
        this.#fail(error)
        this.#settled()
      }
    )
    return promise
  }

  #fail(error: unknown): void {
    const signal = this.#controller.signal
    // A task that stops because the group aborted it is not a failure of its own.
    if (signal.aborted && (error === signal.reason || isAbortError(error))) return
    this.#errors.push(error)
    if (!signal.aborted) {
      this.#controller.abort(new TaskGroupAbort('a task of the group failed'))
    }
  }

  #settled(): void {
    if (--this.#pending === 0) this.#onIdle?.()
  }
}

function isAbortError(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError'
}
