import { aborted, type PrimitiveOptions, park, WaiterList, type WaitOptions } from './waiter.ts'

/** Thrown by `Barrier.wait()` when the barrier is reset or aborted (broken). */
export class BrokenBarrierError extends Error {
  override name = 'BrokenBarrierError'
}

/**
 * Lets `parties` tasks meet: each `wait()` parks until `parties` callers are waiting, then
 * all of them resume together, as asyncio's `Barrier`.
 *
 * Each caller of a round gets a distinct index `0..parties-1` in arrival order (the last
 * arrival gets `parties - 1`). An aborted waiter simply leaves: it does not break the
 * barrier, and the round waits for one more party.
 *
 * @example
 * ```ts
 * const barrier = new Barrier(3)
 * await Promise.all([1, 2, 3].map(async () => {
 *   await prepare()
 *   await barrier.wait() // nobody starts the next phase before all three are prepared
 * }))
 * ```
 */
export class Barrier {
  readonly #parties: number
  readonly #waiters = new WaiterList<number>()
  #broken = false
  readonly #name: string | undefined

  constructor(parties: number, options?: PrimitiveOptions) {
    if (!Number.isInteger(parties) || parties < 1) {
      throw new RangeError('parties must be an integer >= 1')
    }
    this.#parties = parties
    this.#name = options?.name
  }

  /** The name given at construction (telemetry reports the waits of named primitives only). */
  get name(): string | undefined {
    return this.#name
  }

  get parties(): number {
    return this.#parties
  }

  /** Parties parked in the current round. */
  get nWaiting(): number {
    return this.#waiters.size
  }

  get broken(): boolean {
    return this.#broken
  }

  /** Resolves with this caller's index once the round is complete. */
  wait(opts?: WaitOptions): Promise<number> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#broken) return Promise.reject(new BrokenBarrierError('Barrier aborted'))
    const waiters = this.#waiters
    if (waiters.size + 1 < this.#parties) {
      return park(waiters, undefined, signal, undefined, 'Barrier.wait()', this.#name)
    }
    // The round is complete: the waiters of this round are released in one go and the
    // next caller starts a new round (asyncio's "draining" phase takes no time here).
    for (let i = 0; waiters.grantNext(i); i++) {
      // each iteration releases one party with its index
    }
    return Promise.resolve(this.#parties - 1)
  }

  /** Rejects the parked parties with {@link BrokenBarrierError}; the barrier is usable again. */
  reset(): void {
    this.#broken = false
    this.#waiters.dropAll(new BrokenBarrierError('Barrier reset'))
  }

  /** Breaks the barrier: parked and future `wait()` calls reject until `reset()`. */
  abort(): void {
    this.#broken = true
    this.#waiters.dropAll(new BrokenBarrierError('Barrier aborted'))
  }
}
