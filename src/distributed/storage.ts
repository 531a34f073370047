/**
 * The storage the coordinator's logic runs on: synchronous, so that a read, the decision and
 * the write happen with no `await` in between. A SQLite-backed Durable Object provides it
 * directly (`ctx.storage.kv`, whose writes the output gate holds back until they are durable);
 * in this process a `Map` does.
 */
export interface CoordinatorStorage {
  /** The value stored at `key` (a copy: changing it changes nothing until `put`). */
  get<T>(key: string): T | undefined
  put(key: string, value: unknown): void
  delete(key: string): void
  /** Entries whose key starts with `prefix`, in key order. */
  list<T>(prefix: string): Iterable<[string, T]>
  /** The clock, in milliseconds since the epoch. */
  now(): number
  /** Runs the coordinator's `alarm()` at `at` (replacing any alarm set before). */
  setAlarm(at: number): void
}

export interface MemoryStorageOptions {
  /** The clock (tests pass a fake one). Default `Date.now`. */
  now?: () => number
  /**
   * Schedules the alarm. Default: a timer (unref'd on Node, so an idle process can exit)
   * that calls `onAlarm`. Tests pass their own to fire alarms by hand.
   */
  setAlarm?: (at: number) => void
}

/**
 * {@link CoordinatorStorage} in a `Map`, values kept as structured clones (as a Durable
 * Object stores them, so nothing aliases what a caller still holds).
 *
 * @example
 * ```ts
 * const storage = new MemoryCoordinatorStorage()
 * const coordinator = new Coordinator(storage)
 * storage.onAlarm = () => coordinator.alarm()
 * ```
 */
export class MemoryCoordinatorStorage implements CoordinatorStorage {
  readonly #data = new Map<string, unknown>()
  readonly #now: () => number
  readonly #setAlarm: ((at: number) => void) | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Called when the default alarm timer fires. */
  onAlarm: () => void = () => {}

  constructor(options: MemoryStorageOptions = {}) {
    this.#now = options.now ?? Date.now
    this.#setAlarm = options.setAlarm
  }

  get<T>(key: string): T | undefined {
    const value = this.#data.get(key)
    return value === undefined ? undefined : (structuredClone(value) as T)
  }

  put(key: string, value: unknown): void {
    this.#data.set(key, structuredClone(value))
  }

  delete(key: string): void {
    this.#data.delete(key)
  }

  *list<T>(prefix: string): Iterable<[string, T]> {
    const keys = [...this.#data.keys()].filter((key) => key.startsWith(prefix)).sort()
    for (const key of keys) {
      const value = this.get<T>(key)
      if (value !== undefined) yield [key, value]
    }
  }

  now(): number {
    return this.#now()
  }

  setAlarm(at: number): void {
    if (this.#setAlarm) {
      this.#setAlarm(at)
      return
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined
        this.onAlarm()
      },
      Math.max(0, at - this.#now())
    )
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  /** Cancels the pending alarm timer (tests, shutdown). */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Keys stored (diagnostics and tests). */
  get size(): number {
    return this.#data.size
  }
}
