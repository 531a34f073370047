import {
  aborted,
  type PrimitiveOptions,
  park,
  resolved,
  WaiterList,
  type WaitOptions,
} from './waiter.ts'

/**
 * A mutual-exclusion lock for async code, fair (strict FIFO) and cancellable.
 *
 * Like asyncio's `Lock`, it is not owned: any caller may `release()` it. Unlike asyncio, the
 * lock is handed straight to the first waiter on release, so it stays `locked` while the
 * woken waiter resumes and a newcomer can never take it first.
 *
 * @example
 * ```ts
 * const lock = new Lock()
 * await lock.run(async () => {
 *   // one caller at a time in here
 * })
 * ```
 */
export class Lock {
  #locked = false
  // Invariant: waiters exist only while the lock is locked (release hands over instead of
  // unlocking), so the fast path tests one boolean.
  readonly #waiters = new WaiterList<void>()
  readonly #passOn = (): void => this.release()
  readonly #name: string | undefined

  constructor(options?: PrimitiveOptions) {
    this.#name = options?.name
  }

  /** The name given at construction (telemetry reports the waits of named primitives only). */
  get name(): string | undefined {
    return this.#name
  }

  /** True while someone holds the lock (including a waiter it was just handed to). */
  get locked(): boolean {
    return this.#locked
  }

  /**
   * Resolves once the caller holds the lock. An aborted signal rejects with its reason and
   * never takes the lock, even if the abort lands in the same tick as the hand-over.
   */
  acquire(opts?: WaitOptions): Promise<void> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (!this.#locked) {
      this.#locked = true
      return resolved()
    }
    return park(this.#waiters, undefined, signal, this.#passOn, 'Lock.acquire()', this.#name)
  }

  /** Hands the lock to the first waiter, or unlocks it. Throws when not locked. */
  release(): void {
    if (!this.#locked) throw new Error('Lock is not acquired')
    if (!this.#waiters.grantNext(undefined)) this.#locked = false
  }

  /** Runs `fn` while holding the lock, and always releases it. */
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
