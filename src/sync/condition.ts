import { Lock } from './lock.ts'
import { type PrimitiveOptions, park, WaiterList, type WaitOptions } from './waiter.ts'

/**
 * A condition variable over a {@link Lock}, as asyncio's `Condition`.
 *
 * `wait()` releases the lock, parks until notified, then takes the lock back before it
 * returns, also when it rejects (abort), so the caller always leaves `wait()` holding the
 * lock. Like every condition variable, check your predicate again after waking (or use
 * `waitFor`).
 *
 * @example
 * ```ts
 * const cond = new Condition()
 * const items: string[] = []
 * // consumer
 * await cond.run(async () => {
 *   await cond.waitFor(() => items.length > 0)
 *   items.shift()
 * })
 * // producer
 * await cond.run(() => {
 *   items.push('x')
 *   cond.notify()
 * })
 * ```
 */
export class Condition {
  readonly #lock: Lock
  readonly #waiters = new WaiterList<void>()
  // A waiter notified and then aborted before it resumed hands its notification on, so
  // the notify is not lost (the spurious wake-up this may cause is allowed).
  readonly #passOn = (): void => this.#notify(1)

  readonly #name: string | undefined

  /**
   * Without a `lock`, the condition makes its own, named as the condition: a named
   * condition then also reports the wait to take the lock back after a notify (as
   * `Lock.acquire <name>`), which can be the longer part of `wait()`.
   */
  constructor(lock?: Lock, options?: PrimitiveOptions) {
    const name = options?.name
    this.#lock = lock ?? new Lock(name === undefined ? undefined : { name })
    this.#name = name
  }

  /** The name given at construction (telemetry reports the waits of named primitives only). */
  get name(): string | undefined {
    return this.#name
  }

  get locked(): boolean {
    return this.#lock.locked
  }

  acquire(opts?: WaitOptions): Promise<void> {
    return this.#lock.acquire(opts)
  }

  release(): void {
    this.#lock.release()
  }

  /** Runs `fn` while holding the lock, and always releases it. */
  run<R>(fn: () => R | PromiseLike<R>, opts?: WaitOptions): Promise<Awaited<R>> {
    return this.#lock.run(fn, opts)
  }

  /**
   * Releases the lock, waits for a notify, re-acquires the lock. Throws when the lock is
   * not held. On abort it still re-acquires the lock, then rejects with `signal.reason`.
   */
  async wait(opts?: WaitOptions): Promise<void> {
    if (!this.#lock.locked) throw new Error('cannot wait on un-acquired lock')
    const signal = opts?.signal
    // The DOM convention: an aborted signal rejects at once (the lock stays held).
    if (signal?.aborted) throw signal.reason
    const notified = park(
      this.#waiters,
      undefined,
      signal,
      this.#passOn,
      'Condition.wait()',
      this.#name
    )
    this.#lock.release()
    let failure: { error: unknown } | undefined
    try {
      await notified
    } catch (error) {
      failure = { error }
    }
    // Re-acquire without the signal: leaving wait() without the lock would break every
    // caller's `finally { release() }`.
    await this.#lock.acquire()
    if (failure !== undefined) throw failure.error
  }

  /** Waits until `predicate()` is truthy and returns its value; checks it first. */
  async waitFor<R>(predicate: () => R, opts?: WaitOptions): Promise<R> {
    let result = predicate()
    while (!result) {
      await this.wait(opts)
      result = predicate()
    }
    return result
  }

  /** Wakes up to `n` waiters (FIFO). Throws when the lock is not held. */
  notify(n = 1): void {
    if (!this.#lock.locked) throw new Error('cannot notify on un-acquired lock')
    this.#notify(n)
  }

  /** Wakes every waiter. Throws when the lock is not held. */
  notifyAll(): void {
    this.notify(this.#waiters.size)
  }

  #notify(n: number): void {
    for (let i = 0; i < n && this.#waiters.grantNext(undefined); i++) {
      // each iteration wakes one waiter
    }
  }

  /** Number of parked waiters (for diagnostics and tests). */
  get waiting(): number {
    return this.#waiters.size
  }
}
