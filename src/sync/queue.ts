import { type ObserveWait, observeWait } from '../telemetry/instrumentation.ts'
import { MinHeap } from './heap.ts'
import {
  aborted,
  grant,
  observing,
  type PrimitiveOptions,
  park,
  resolved,
  WaiterList,
  type WaitOptions,
} from './waiter.ts'

/** Thrown by `getNowait()` on an empty queue. */
export class QueueEmpty extends Error {
  override name = 'QueueEmpty'
}

/** Thrown by `putNowait()` on a full queue. */
export class QueueFull extends Error {
  override name = 'QueueFull'
}

/** Thrown by `put()` after `shutdown()`, and by `get()` once shut down and drained. */
export class QueueShutDown extends Error {
  override name = 'QueueShutDown'
}

/**
 * Options of a queue; its `name` makes its `get()`/`put()`/`join()` waits reported (see
 * {@link PrimitiveOptions}).
 */
export interface QueueOptions extends PrimitiveOptions {
  /** Capacity; `0` or less means unbounded (the default). */
  maxsize?: number
}

export interface PriorityQueueOptions<T> extends QueueOptions {
  /** Orders items, smallest first (default: `<` on the items). */
  compare?: (a: T, b: T) => number
}

/** Where the items live; the three queues differ only here. */
export interface ItemStore<T> {
  readonly size: number
  add(item: T): void
  take(): T
  /** Puts back an item handed to a getter that was aborted before it resumed. */
  giveBack(item: T): void
  clear(): void
}

/** Growable ring buffer: O(1) at both ends, no `Array.prototype.shift` copying. */
class RingStore<T> implements ItemStore<T> {
  #buf: (T | undefined)[] = new Array(16)
  #head = 0
  size = 0

  add(item: T): void {
    if (this.size === this.#buf.length) this.#grow()
    this.#buf[(this.#head + this.size) & (this.#buf.length - 1)] = item
    this.size++
  }

  take(): T {
    const item = this.#buf[this.#head] as T
    this.#buf[this.#head] = undefined
    this.#head = (this.#head + 1) & (this.#buf.length - 1)
    this.size--
    return item
  }

  giveBack(item: T): void {
    if (this.size === this.#buf.length) this.#grow()
    this.#head = (this.#head - 1) & (this.#buf.length - 1)
    this.#buf[this.#head] = item
    this.size++
  }

  clear(): void {
    this.#buf = new Array(16)
    this.#head = 0
    this.size = 0
  }

  #grow(): void {
    const old = this.#buf
    const next: (T | undefined)[] = new Array(old.length * 2)
    for (let i = 0; i < this.size; i++) next[i] = old[(this.#head + i) & (old.length - 1)]
    this.#buf = next
    this.#head = 0
  }
}

class StackStore<T> implements ItemStore<T> {
  #items: T[] = []
  get size(): number {
    return this.#items.length
  }
  add(item: T): void {
    this.#items.push(item)
  }
  take(): T {
    return this.#items.pop() as T
  }
  giveBack(item: T): void {
    this.#items.push(item)
  }
  clear(): void {
    this.#items = []
  }
}

/** A priority order, kept by a binary min-heap. */
class HeapStore<T> implements ItemStore<T> {
  readonly #heap: MinHeap<T>
  constructor(compare: (a: T, b: T) => number) {
    this.#heap = new MinHeap(compare)
  }
  get size(): number {
    return this.#heap.size
  }
  add(item: T): void {
    this.#heap.push(item)
  }
  take(): T {
    return this.#heap.pop() as T
  }
  giveBack(item: T): void {
    this.#heap.push(item)
  }
  clear(): void {
    this.#heap.drain()
  }
}

function defaultCompare<T>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * A FIFO queue for producers and consumers, as asyncio's `Queue` (with Python 3.13's
 * `shutdown`), fair and cancellable.
 *
 * Items are handed straight to a parked getter and free slots straight to a parked putter,
 * so nobody overtakes a woken waiter and an aborted waiter never takes an item: an item
 * handed to a getter that was aborted before it resumed goes back to the head of the queue
 * (which may leave a bounded queue one over `maxsize` for that moment).
 *
 * @example
 * ```ts
 * const q = new Queue<string>({ maxsize: 100 })
 * const worker = (async () => {
 *   for await (const job of q) {
 *     await handle(job)
 *     q.taskDone()
 *   }
 * })()
 * await q.put('a')
 * await q.join() // every item got and marked done
 * q.shutdown()
 * await worker
 * ```
 */
export class Queue<T> {
  readonly #maxsize: number
  readonly #store: ItemStore<T>
  readonly #getters = new WaiterList<T>()
  readonly #putters = new WaiterList<void, T>()
  // Slots granted to putters that carry a signal; they put their item when they resume,
  // so that an abort in between can still cancel the put.
  #reserved = 0
  #unfinished = 0
  // join()'s waiters (asyncio's `_finished` Event, kept here so that a named queue reports
  // them as `Queue.join`). All are woken when #unfinished drops to 0; woken, they resume
  // even if a put() comes first, as an Event's waiters do after set().
  readonly #joiners = new WaiterList<void>()
  #shutdown = false
  #immediate = false
  readonly #name: string | undefined
  readonly #giveBack = (item: T): void => this.#returnItem(item)
  readonly #passSlot = (): void => {
    this.#reserved--
    this.#freeSlot()
  }

  constructor(opts: QueueOptions = {}) {
    this.#maxsize = opts.maxsize ?? 0
    this.#name = opts.name
    this.#store = this.createStore(opts)
  }

  /** Subclasses choose the order by returning their store. */
  protected createStore(_opts: QueueOptions): ItemStore<T> {
    return new RingStore<T>()
  }

  /** Items in the queue. */
  get size(): number {
    return this.#store.size
  }

  /** The name given at construction (telemetry reports the waits of named queues only). */
  get name(): string | undefined {
    return this.#name
  }

  get maxsize(): number {
    return this.#maxsize
  }

  get empty(): boolean {
    return this.#store.size === 0
  }

  /** True when a `put()` would wait (never for an unbounded queue). */
  get full(): boolean {
    return this.#maxsize > 0 && this.#store.size + this.#reserved >= this.#maxsize
  }

  /** Adds `item`, waiting for a free slot if the queue is full. */
  put(item: T, opts?: WaitOptions): Promise<void> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#shutdown) return Promise.reject(new QueueShutDown('Queue is shut down'))
    if (!this.full) {
      this.#add(item)
      return resolved()
    }
    if (signal === undefined)
      return park(this.#putters, item, undefined, undefined, 'Queue.put()', this.#name)
    // Reported as a whole: granted a slot, the put may still fail (shut down meanwhile).
    if (observing(this.#name)) return this.#putObserved(item, signal, this.#name)
    return this.#putLater(item, signal)
  }

  // Apart from put(): a closure there would cost every put a context allocation.
  #putObserved(item: T, signal: AbortSignal, name: string): Promise<void> {
    return (observeWait as ObserveWait)('Queue.put()', name, signal, () =>
      this.#putLater(item, signal)
    )
  }

  async #putLater(item: T, signal: AbortSignal): Promise<void> {
    // A late abort passes the reserved slot on; an abort while parked just leaves.
    await park(this.#putters, item, signal, this.#passSlot, 'Queue.put()')
    this.#reserved--
    if (this.#shutdown) {
      this.#freeSlot()
      throw new QueueShutDown('Queue is shut down')
    }
    this.#add(item)
  }

  /** Adds `item` now or throws {@link QueueFull} / {@link QueueShutDown}. */
  putNowait(item: T): void {
    if (this.#shutdown) throw new QueueShutDown('Queue is shut down')
    if (this.full) throw new QueueFull('Queue is full')
    this.#add(item)
  }

  /** Removes and returns the next item, waiting for one if the queue is empty. */
  get(opts?: WaitOptions): Promise<T> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#store.size > 0) return Promise.resolve(this.#take())
    if (this.#shutdown) return Promise.reject(new QueueShutDown('Queue is shut down'))
    return park(this.#getters, undefined, signal, this.#giveBack, 'Queue.get()', this.#name)
  }

  /** Removes and returns the next item now, or throws {@link QueueEmpty} / {@link QueueShutDown}. */
  getNowait(): T {
    if (this.#store.size > 0) return this.#take()
    if (this.#shutdown) throw new QueueShutDown('Queue is shut down')
    throw new QueueEmpty('Queue is empty')
  }

  /** Marks one item got earlier as processed; `join()` resolves when none is left. */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new RangeError('taskDone() called too many times')
    if (--this.#unfinished === 0) this.#joiners.grantAll(undefined)
  }

  /** Resolves once every item put has been got and marked with `taskDone()`. */
  join(opts?: WaitOptions): Promise<void> {
    const signal = opts?.signal
    if (signal?.aborted) return aborted(signal)
    if (this.#unfinished === 0) return resolved()
    return park(this.#joiners, undefined, signal, undefined, 'Queue.join()', this.#name)
  }

  /**
   * Shuts the queue down: `put()` rejects from now on, and so does `get()` once the queue
   * is empty; parked putters and getters reject with {@link QueueShutDown}. With
   * `immediate`, the items left are dropped (and counted as done for `join()`).
   */
  shutdown(immediate = false): void {
    this.#shutdown = true
    if (immediate) {
      this.#immediate = true
      const dropped = this.#store.size
      this.#store.clear()
      this.#unfinished = Math.max(0, this.#unfinished - dropped)
      if (this.#unfinished === 0) this.#joiners.grantAll(undefined)
    }
    // Getters park only while the queue is empty, so all of them are done for.
    this.#getters.dropAll(new QueueShutDown('Queue is shut down'))
    this.#putters.dropAll(new QueueShutDown('Queue is shut down'))
  }

  /** Yields items until the queue is shut down and drained. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T
      try {
        item = await this.get()
      } catch (error) {
        if (error instanceof QueueShutDown) return
        throw error
      }
      yield item
    }
  }

  #add(item: T): void {
    this.#unfinished++
    // A parked getter means the store is empty: hand the item over directly.
    if (!this.#getters.grantNext(item)) this.#store.add(item)
  }

  #take(): T {
    const item = this.#store.take()
    this.#freeSlot()
    return item
  }

  /** A slot became free: give it to the first parked putter, if any. */
  #freeSlot(): void {
    if (this.full) return
    const putter = this.#putters.shift()
    if (putter === undefined) return
    if (typeof putter === 'function') {
      // A bare entry is a putter of `undefined` without signal (nothing else to carry).
      this.#add(undefined as T)
      putter(undefined)
    } else if (!putter.signalled) {
      // No abort can race with this put: take its item in now.
      this.#add(putter.data)
      grant(putter, undefined)
    } else {
      this.#reserved++
      grant(putter, undefined)
    }
  }

  /** An item handed to a getter that was aborted before it resumed comes back. */
  #returnItem(item: T): void {
    if (this.#immediate) {
      // Dropped like the rest by shutdown(true).
      if (--this.#unfinished === 0) this.#joiners.grantAll(undefined)
      return
    }
    if (!this.#getters.grantNext(item)) this.#store.giveBack(item)
  }
}

/**
 * A queue that returns the most recently added item first.
 *
 * @example
 * ```ts
 * const stack = new LifoQueue<number>()
 * stack.putNowait(1)
 * stack.putNowait(2)
 * await stack.get() // 2
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  protected override createStore(_opts: QueueOptions): ItemStore<T> {
    return new StackStore<T>()
  }
}

/**
 * A queue that returns the smallest item first (by `compare`, default `<`).
 *
 * @example
 * ```ts
 * const jobs = new PriorityQueue<[number, string]>({ compare: (a, b) => a[0] - b[0] })
 * jobs.putNowait([2, 'later'])
 * jobs.putNowait([1, 'first'])
 * await jobs.get() // [1, 'first']
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  constructor(opts: PriorityQueueOptions<T> = {}) {
    super(opts)
  }

  protected override createStore(opts: PriorityQueueOptions<T>): ItemStore<T> {
    return new HeapStore<T>(opts.compare ?? defaultCompare)
  }
}
