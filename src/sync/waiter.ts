// The one piece every primitive shares: a FIFO of parked callers, each with its own promise.
//
// Design constraints, and why the code looks the way it does:
// - FIFO with cheap removal from the middle: an aborted waiter is settled at once and left as
//   a tombstone that is compacted away once tombstones outnumber live waiters, so 100,000
//   aborted waiters leave nothing behind even if nobody ever releases (a plain "skip
//   cancelled on release" list would keep them until the next release).
// - The common wait (no signal, Node/Deno) parks nothing but its promise: the list holds its
//   resolving function directly, no waiter object.
// - Hand-off, not wake-and-retry: the releasing side grants the lock / permit / item to the
//   head waiter synchronously, before anyone else runs. A newcomer therefore can never barge
//   in between the wake-up and the resumption of the woken waiter, and one `release()` wakes
//   exactly one waiter in the same tick (no one-waiter-per-tick ladder, CPython gh-97545).
// - Cancellation races: a waiter can be granted and have its signal aborted before its own
//   continuation runs. The continuation re-checks the signal; if it was aborted it passes
//   whatever it was handed to the next one (`onLateAbort`) and rejects, so a cancelled waiter
//   never consumes anything.
// - workerd: a request that waits on a promise that another request resolves is cancelled as
//   "hung" unless it keeps a pending timer of its own (see docs/primitives.md). Where that is
//   needed (detected by `navigator.userAgent`, or forced with `configurePrimitives`) each
//   parked waiter arms one timer, cleared by its own continuation. The timer doubles as a
//   deadline, so a wait that can never end (holder's request gone) fails with a clear error
//   instead of hanging silently. On Node and Deno nothing of that is paid.

import { type ObserveWait, observeWait } from '../telemetry/instrumentation.ts'

/** Options accepted by every waiting method. */
export interface WaitOptions {
  /** Abort the wait: it rejects with `signal.reason` and leaves no waiter behind. */
  signal?: AbortSignal | undefined
}

/** Options of the primitives' constructors. */
export interface PrimitiveOptions {
  /**
   * Names the primitive for telemetry: only named primitives report their waits (a span
   * `'<Class>.<method> <name>'` and the `edgeio.wait.duration` histogram, see `instrument()`).
   * Unnamed ones cost nothing, installed instrumentation or not.
   */
  name?: string | undefined
}

/** Process-wide settings of the waiting machinery (per isolate on Workers). */
export interface PrimitivesConfig {
  /**
   * Arm a timer of the waiter's own while it is parked. Needed in workerd when waits are
   * ended by another request; defaults to `true` exactly when
   * `navigator.userAgent === 'Cloudflare-Workers'`.
   */
  keepAlive: boolean
  /**
   * With `keepAlive`, a parked wait that lasts longer than this rejects with
   * {@link StalledWaitError}: in workerd such a wait usually means the request that should
   * end it is gone, and workerd's own hang detection is off for a waiter holding a timer.
   */
  stallLimitMs: number
}

// The one place the core tells workerd by itself (the adapters' runtime record says it
// everywhere else): a primitive serves no one request — a Lock is shared by every request
// of the isolate, and used before any is served — so there is no request whose runtime it
// could ask, and the hang detection it works around belongs to the isolate. This is the
// check Cloudflare documents, and Hono's getRuntimeKey() makes.
const isWorkerd =
  (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent ===
  'Cloudflare-Workers'

const config: PrimitivesConfig = { keepAlive: isWorkerd, stallLimitMs: 30_000 }

/**
 * Reads or changes how waits are parked. Call it at startup, not while waits are pending.
 *
 * @example
 * ```ts
 * // In tests that simulate workerd on Node, or to shorten the stall diagnosis:
 * configurePrimitives({ keepAlive: true, stallLimitMs: 5_000 })
 * ```
 */
export function configurePrimitives(patch: Partial<PrimitivesConfig> = {}): PrimitivesConfig {
  if (patch.keepAlive !== undefined) config.keepAlive = patch.keepAlive
  if (patch.stallLimitMs !== undefined) {
    if (!(patch.stallLimitMs > 0)) throw new RangeError('stallLimitMs must be > 0')
    config.stallLimitMs = patch.stallLimitMs
  }
  return { ...config }
}

/**
 * A wait parked longer than `stallLimitMs` while keep-alive timers are on (workerd).
 * The usual cause: the request that held the lock (or should have put the item, set the
 * event…) finished without doing so, or did it outside `ctx.waitUntil`.
 */
export class StalledWaitError extends Error {
  override name = 'StalledWaitError'
}

// Waiter.flags: the low bits are the state, then two markers.
const PARKED = 0
const GRANTED = 1
const DROPPED = 2
const STATE = 3
/** The promise is awaited by `guarded` (signal or keep-alive), which reads the error itself. */
const GUARDED = 4
/** The caller passed a signal: its grant may still be undone by a late abort. */
const SIGNALLED = 8

const RESOLVED: Promise<void> = Promise.resolve()

/**
 * The fast paths' result. Off workerd one settled promise is shared (no allocation). In
 * workerd a promise belongs to the request that created it, and modules may be evaluated
 * inside a request (as the vitest pool does): awaiting a shared promise created by a
 * request that has ended never resumes, so each call gets its own.
 */
export function resolved(): Promise<void> {
  return config.keepAlive ? Promise.resolve() : RESOLVED
}

/**
 * A parked waiter that needs more than resolving: it carries a signal, a keep-alive timer or
 * data (a queue putter's item). Waiters that need nothing else are kept in the list as their
 * bare resolving function, which is all a parked `await lock.acquire()` costs: its promise
 * and that function (~170 B on 64-bit Node, see bench/primitives).
 */
export class Waiter<T, D = undefined> {
  flags: number
  /**
   * While parked: what the waiter carries (a queue putter's item). Once granted: the value
   * handed over. Once dropped: the error.
   */
  value: unknown
  // Only `resolve` is kept: rejection goes through it too (see `drop`), which saves the
  // second resolving function per parked waiter.
  resolve!: (value: T | PromiseLike<T>) => void

  constructor(data: D, signalled: boolean) {
    this.value = data
    this.flags = signalled ? SIGNALLED : PARKED
  }

  /** What a putter carries (valid while parked). */
  get data(): D {
    return this.value as D
  }

  get signalled(): boolean {
    return (this.flags & SIGNALLED) !== 0
  }

  get parked(): boolean {
    return (this.flags & STATE) === PARKED
  }
}

type Resolve<T> = (value: T | PromiseLike<T>) => void
/** A list entry: a full waiter, or the resolving function of a waiter that needs nothing else. */
export type Entry<T, D> = Waiter<T, D> | Resolve<T>

/**
 * FIFO of parked waiters: a growable ring buffer. A waiter that leaves from the middle
 * (abort, stall) stays as a tombstone that `shift` skips; once tombstones are more than half
 * of the ring it is compacted, so removal is O(1) amortised and aborted waiters do not pile
 * up (100,000 aborted waiters leave nothing behind, see test/sync/memory.test.ts).
 */
export class WaiterList<T, D = undefined> {
  #ring: (Entry<T, D> | undefined)[] = new Array(8)
  #head = 0
  /** Slots in use, tombstones included. */
  #count = 0
  #dead = 0

  /** Parked waiters. */
  get size(): number {
    return this.#count - this.#dead
  }

  push(e: Entry<T, D>): void {
    if (this.#count === this.#ring.length) this.#resize(this.#ring.length * 2)
    this.#ring[(this.#head + this.#count) & (this.#ring.length - 1)] = e
    this.#count++
  }

  /** Removes and returns the first parked waiter. */
  shift(): Entry<T, D> | undefined {
    const ring = this.#ring
    while (this.#count > 0) {
      const e = ring[this.#head]
      ring[this.#head] = undefined
      this.#head = (this.#head + 1) & (ring.length - 1)
      this.#count--
      if (typeof e === 'function' || (e as Waiter<T, D>).parked) return e
      this.#dead--
    }
    return undefined
  }

  /**
   * Takes a parked waiter out of the middle. The caller settles it at once (drop), so it
   * stops being `parked` and is skipped from then on.
   */
  unlink(_w: Waiter<T, D>): void {
    this.#dead++
    if (this.#dead > 16 && this.#dead * 2 > this.#count) this.#resize(0)
  }

  /** Hands `value` to the head waiter; returns false when nobody is parked. */
  grantNext(value: T): boolean {
    const e = this.shift()
    if (e === undefined) return false
    if (typeof e === 'function') e(value)
    else grant(e, value)
    return true
  }

  /** Hands `value` to every parked waiter, in FIFO order (an event set, a queue joined). */
  grantAll(value: T): void {
    while (this.grantNext(value)) {}
  }

  /** Rejects every parked waiter with `error` (shutdown, barrier reset/abort). */
  dropAll(error: unknown): void {
    for (let e = this.shift(); e !== undefined; e = this.shift()) {
      if (typeof e === 'function') e(Promise.reject(error))
      else drop(e, error)
    }
  }

  /** Copies the live entries, in order, into a ring of `size` slots (drops tombstones). */
  #resize(size: number): void {
    const old = this.#ring
    const mask = old.length - 1
    let live = 0
    for (let i = 0; i < this.#count; i++) {
      const e = old[(this.#head + i) & mask]
      if (typeof e === 'function' || (e as Waiter<T, D>).parked) live++
    }
    let length = 8
    while (length < Math.max(size, live + 1)) length *= 2
    const ring: (Entry<T, D> | undefined)[] = new Array(length)
    let j = 0
    for (let i = 0; i < this.#count; i++) {
      const e = old[(this.#head + i) & mask]
      // The waiter being unlinked right now is still `parked`: keep it; it is skipped later.
      if (typeof e === 'function' || (e as Waiter<T, D>).parked) ring[j++] = e
    }
    this.#ring = ring
    this.#head = 0
    this.#dead -= this.#count - j
    this.#count = j
  }
}

/** Resolves a waiter that was already unlinked from its list. */
export function grant<T, D>(w: Waiter<T, D>, value: T): void {
  w.flags = (w.flags & ~STATE) | GRANTED
  w.value = value
  w.resolve(value)
}

function drop<T, D>(w: Waiter<T, D>, error: unknown): void {
  w.flags = (w.flags & ~STATE) | DROPPED
  w.value = error
  if (w.flags & GUARDED) {
    // `guarded` throws the error itself. In workerd a rejected promise made here would
    // belong to the dropping request, which may end before the waiter adopts it.
    w.resolve(undefined as T)
  } else {
    // Resolving with a rejected promise rejects; the extra tick only costs on error paths.
    w.resolve(Promise.reject(error))
  }
}

// One abort listener per signal, however many waits use it: with a listener per wait, a
// signal shared by n waits (a request's signal, a task group's) costs O(n) per removal in
// EventTarget, O(n²) in all. Here a wait joins and leaves the signal's list in O(1).
interface Watch {
  readonly waiter: Waiter<unknown, unknown>
  readonly list: WaiterList<unknown, unknown>
  prev: Watch | undefined
  next: Watch | undefined
}
interface SignalWatches {
  head: Watch | undefined
  readonly onAbort: () => void
}
const watched = new WeakMap<AbortSignal, SignalWatches>()

function watch(signal: AbortSignal, watch: Watch): void {
  let entry = watched.get(signal)
  if (entry === undefined) {
    const created: SignalWatches = {
      head: undefined,
      onAbort: () => {
        watched.delete(signal)
        for (let n = created.head; n !== undefined; n = n.next) {
          // Granted already: its continuation sees the abort and passes the grant on.
          if (n.waiter.parked) {
            n.list.unlink(n.waiter)
            drop(n.waiter, signal.reason)
          }
        }
        created.head = undefined
      },
    }
    entry = created
    watched.set(signal, entry)
    signal.addEventListener('abort', entry.onAbort, { once: true })
  }
  watch.next = entry.head
  if (entry.head !== undefined) entry.head.prev = watch
  entry.head = watch
}

function unwatch(signal: AbortSignal, watch: Watch): void {
  const entry = watched.get(signal)
  if (entry === undefined) return // aborted: the listener is gone already
  if (watch.prev === undefined) entry.head = watch.next
  else watch.prev.next = watch.next
  if (watch.next !== undefined) watch.next.prev = watch.prev
  if (entry.head === undefined) {
    watched.delete(signal)
    signal.removeEventListener('abort', entry.onAbort)
  }
}

let captured: ((value: never) => void) | undefined
function capture(resolve: (value: never) => void): void {
  captured = resolve
}

/**
 * Parks the caller at the tail of `list` and returns the promise of its grant.
 *
 * `onLateAbort` runs when the waiter was granted but its signal was aborted before it could
 * resume: it must pass the grant on (release the lock, give back the item…).
 *
 * `what` ('Class.method()') names the wait in errors; with a `name` (a named primitive) and
 * an instrumentation installed, the wait is reported (see `observed`).
 */
export function park<T, D>(
  list: WaiterList<T, D>,
  data: D,
  signal: AbortSignal | undefined,
  onLateAbort: ((value: T) => void) | undefined,
  what: string,
  name?: string | undefined
): Promise<T> {
  // Unnamed primitives test one argument; named ones one more load, while nothing is installed.
  if (name !== undefined && observeWait !== undefined) {
    return parkObserved(list, data, signal, onLateAbort, what, name)
  }
  // A shared executor: no closure is allocated per parked waiter.
  const promise = new Promise<T>(capture)
  const resolve = captured as Resolve<T>
  // Hot path on Node/Deno: nothing but the promise and its resolving function.
  if (signal === undefined && !config.keepAlive && data === undefined) {
    list.push(resolve)
    return promise
  }
  const w = new Waiter<T, D>(data, signal !== undefined)
  w.resolve = resolve
  list.push(w)
  if (signal === undefined && !config.keepAlive) return promise
  w.flags |= GUARDED
  return guarded(list, w, promise, signal, onLateAbort, what)
}

async function guarded<T, D>(
  list: WaiterList<T, D>,
  w: Waiter<T, D>,
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onLateAbort: ((value: T) => void) | undefined,
  what: string
): Promise<T> {
  let node: Watch | undefined
  if (signal !== undefined) {
    node = {
      waiter: w as Waiter<unknown, unknown>,
      list: list as WaiterList<unknown, unknown>,
      prev: undefined,
      next: undefined,
    }
    watch(signal, node)
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  if (config.keepAlive) {
    const limit = config.stallLimitMs
    // workerd only counts timers of the waiting request itself, and only that request's
    // own continuation can clear it (clearTimeout from another request is ignored).
    timer = setTimeout(() => {
      if (w.parked) {
        list.unlink(w)
        drop(w, stalled(what, limit))
      }
    }, limit)
    ;(timer as { unref?: () => void }).unref?.()
  }
  await promise
  if (timer !== undefined) clearTimeout(timer)
  if (node !== undefined) unwatch(signal as AbortSignal, node)
  if ((w.flags & STATE) === DROPPED) throw w.value
  if (signal?.aborted) {
    // Granted and aborted before we could resume: do not keep what we were handed.
    onLateAbort?.(w.value as T)
    throw signal.reason
  }
  return w.value as T
}

// Apart from park(): a closure in park() itself would cost every parked wait a context
// allocation (measured: +5 % per contended acquire), instrumented or not.
function parkObserved<T, D>(
  list: WaiterList<T, D>,
  data: D,
  signal: AbortSignal | undefined,
  onLateAbort: ((value: T) => void) | undefined,
  what: string,
  name: string
): Promise<T> {
  return (observeWait as ObserveWait)(what, name, signal, () =>
    park(list, data, signal, onLateAbort, what)
  )
}

/** True when a wait of the primitive `name` is to be reported (see `observeWait`). */
export function observing(name: string | undefined): name is string {
  return name !== undefined && observeWait !== undefined
}

function stalled(what: string, limit: number): StalledWaitError {
  return new StalledWaitError(
    `${what} waited more than ${limit} ms with keep-alive timers on (workerd). The request ` +
      'that should end this wait probably finished without doing so: release locks and ' +
      'permits, put items and set events before the response, or inside ctx.waitUntil(). ' +
      'Give long waits their own deadline (signal) or raise configurePrimitives({ stallLimitMs }).'
  )
}

/** Rejection for an already-aborted signal: at once, even when the resource is free. */
export function aborted(signal: AbortSignal): Promise<never> {
  return Promise.reject(signal.reason)
}
