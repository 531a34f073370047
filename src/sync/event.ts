import {
  aborted,
  type PrimitiveOptions,
  park,
  resolved,
  WaiterList,
  type WaitOptions,
} from './waiter.ts'

/**
 * A flag that tasks can wait for, as asyncio's `Event`.
 *
 * @example
 * ```ts
 * const ready = new Event()
 * queueMicrotask(() => ready.set())
 * await ready.wait()
 * ```
 */
export class Event {
  #value = false
  readonly #waiters = new WaiterList<void>()
  readonly #name: string | undefined

  constructor(options?: PrimitiveOptions) {
    this.#name = options?.name
  }

  /** The name given at construction (telemetry reports the waits of named primitives only). */
  get name(): string | undefined {
    return this.#name
  }

  /** True once `set()` was called and `clear()` not since. */
  isSet(): boolean {
    return this.#value
  }

  /** Sets the flag and wakes every waiter (in FIFO order, in this tick). */
  set(): void {
    if (this.#value) return
    this.#value = true
    // Waiters granted here resume even if clear() runs before they do: they were woken by
    // this set(), which is asyncio's rule too.
    this.#waiters.grantAll(undefined)
  }

  /** Resets the flag; later `wait()` calls block until the next `set()`. */
  clear(): void {
    this.#value = false
  }

  /** Resolves once the flag is set. */
  wait(opts?: WaitOptions): Promise<void> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#value) return resolved()
    return park(this.#waiters, undefined, signal, undefined, 'Event.wait()', this.#name)
  }

  /** Number of parked waiters (for diagnostics and tests). */
  get waiting(): number {
    return this.#waiters.size
  }
}
