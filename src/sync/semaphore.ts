import {
  aborted,
  type PrimitiveOptions,
  park,
  resolved,
  WaiterList,
  type WaitOptions,
} from './waiter.ts'

/**
 * A counting semaphore, fair (strict FIFO) and cancellable.
 *
 * `release()` hands its permit straight to the first waiter, so a release wakes exactly as
 * many waiters as there are permits, in the same tick, and nobody overtakes a woken waiter.
 *
 * @example
 * ```ts
 * const sem = new Semaphore(10, { name: 'fetch' }) // at most 10 fetches in flight; named: traced
 * const pages = await Promise.all(urls.map((u) => sem.run(() => fetch(u))))
 * ```
 */
export class Semaphore {
  #value: number
  // Invariant: waiters exist only while #value is 0 (permits are handed over, not counted
  // back up), so the fast path tests one number.
  readonly #waiters = new WaiterList<void>()
  readonly #passOn = (): void => this.release()
  readonly #name: string | undefined

  constructor(value = 1, options?: PrimitiveOptions) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError('Semaphore value must be an integer >= 0')
    }
    this.#value = value
    this.#name = options?.name
  }

  /** The name given at construction (telemetry reports the waits of named primitives only). */
  get name(): string | undefined {
    return this.#name
  }

  /** Permits free right now. */
  get value(): number {
    return this.#value
  }

  /** True when `acquire()` would have to wait. */
  get locked(): boolean {
    return this.#value === 0
  }

  /**
   * Resolves once the caller holds a permit. An aborted signal never consumes one. When a
   * permit is free (`locked` is false) it is taken synchronously, before this returns.
   */
  acquire(opts?: WaitOptions): Promise<void> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#value > 0) {
      this.#value--
      return resolved()
    }
    return park(this.#waiters, undefined, signal, this.#passOn, 'Semaphore.acquire()', this.#name)
  }

  /** Gives a permit back: to the first waiter if any, else to the pool. */
  release(): void {
    if (!this.#waiters.grantNext(undefined)) this.#value++
  }

  /** Runs `fn` while holding a permit, and always releases it. */
  async run<R>(fn: () => R | PromiseLike<R>, opts?: WaitOptions): Promise<Awaited<R>> {
    await this.acquire(opts)
    try {
      return await fn()
    } finally {
      this.release()
    }
  }

  /** Number of parked waiters (for diagnostics and tests). */
  get waiting(): number {
    return this.#waiters.size
  }
}

/**
 * A semaphore whose `release()` throws when it would exceed the starting value, which
 * catches a double release.
 *
 * @example
 * ```ts
 * const pool = new BoundedSemaphore(2)
 * await pool.acquire()
 * pool.release()
 * pool.release() // throws: released too many times
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  readonly #bound: number

  constructor(value = 1, options?: PrimitiveOptions) {
    super(value, options)
    this.#bound = value
  }

  override release(): void {
    // With waiters parked the value is 0, so a release that feeds a waiter never throws.
    if (this.value >= this.#bound) throw new RangeError('BoundedSemaphore released too many times')
    super.release()
  }
}
