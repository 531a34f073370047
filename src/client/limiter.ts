import { Semaphore } from '../sync/semaphore.ts'
import { ClientQueueFullError } from './errors.ts'

// The client's caps on edgeio's own Semaphore, not a waiter list of its own: the Semaphore
// is FIFO, leaves nothing behind when a wait is aborted, and keeps waiters alive in workerd
// where a permit released by one request wakes a waiter of another (docs/primitives.md).
//
// A call takes its origin's permit first, then a total one. Holding the origin permit while
// waiting for a total one cannot deadlock (total permits are never held while waiting for
// an origin permit) and keeps each origin's calls in FIFO order.

/** Gives the permits of one attempt back. Call it exactly once. */
export type Release = () => void

interface Host {
  readonly sem: Semaphore
  /** Permits held plus waits parked; the entry is dropped when it falls to 0. */
  users: number
}

/**
 * Total and per-origin concurrency caps with a bounded wait queue.
 *
 * @example
 * ```ts
 * const limiter = new HostLimiter({ total: 100, perHost: 4, maxQueue: 1000 })
 * const release = await limiter.acquire('https://api.example.com', signal)
 * try { await fetch(url, { signal }) } finally { release() }
 * ```
 */
export class HostLimiter {
  readonly total: number
  readonly perHost: number
  readonly maxQueue: number
  readonly #all: Semaphore | undefined
  readonly #hosts = new Map<string, Host>()
  #waiting = 0

  constructor(options: { total?: number; perHost?: number; maxQueue?: number } = {}) {
    this.total = cap(options.total ?? 100, 'limit.total')
    this.perHost = cap(options.perHost ?? Number.POSITIVE_INFINITY, 'limit.perHost')
    this.maxQueue = options.maxQueue ?? 1000
    if (!(this.maxQueue >= 0)) throw new RangeError('limit.maxQueue must be >= 0')
    this.#all = Number.isFinite(this.total) ? new Semaphore(this.total) : undefined
  }

  /** Calls parked waiting for a permit. */
  get waiting(): number {
    return this.#waiting
  }

  /** Attempts holding a permit to `origin` right now (0 when the origin has no cap). */
  inFlight(origin: string): number {
    const host = this.#hosts.get(origin)
    return host === undefined ? 0 : this.perHost - host.sem.value
  }

  /**
   * Takes a permit for `origin` (and a total one). Synchronous when both are free (returns
   * the release function itself); otherwise parks FIFO, or throws
   * {@link ClientQueueFullError} when `maxQueue` calls already wait. An abort of `signal`
   * ends the wait with its reason and consumes nothing.
   */
  acquire(origin: string, signal: AbortSignal | undefined): Release | Promise<Release> {
    const all = this.#all
    const host = this.#host(origin)
    const sem = host?.sem
    if ((sem === undefined || !sem.locked) && (all === undefined || !all.locked)) {
      // Both free: Semaphore takes a free permit synchronously.
      void sem?.acquire()
      void all?.acquire()
      if (host !== undefined) host.users++
      return this.#releaser(origin, host)
    }
    if (this.#waiting >= this.maxQueue) {
      if (host?.users === 0) this.#hosts.delete(origin)
      throw new ClientQueueFullError(origin, this.maxQueue)
    }
    return this.#wait(origin, host, signal)
  }

  async #wait(origin: string, host: Host | undefined, signal: AbortSignal | undefined) {
    this.#waiting++
    if (host !== undefined) host.users++
    const opts = signal === undefined ? undefined : { signal }
    try {
      await host?.sem.acquire(opts)
      try {
        await this.#all?.acquire(opts)
      } catch (error) {
        host?.sem.release()
        throw error
      }
    } catch (error) {
      if (host !== undefined) this.#leave(origin, host)
      throw error
    } finally {
      this.#waiting--
    }
    return this.#releaser(origin, host)
  }

  #releaser(origin: string, host: Host | undefined): Release {
    let released = false
    return () => {
      if (released) return
      released = true
      this.#all?.release()
      if (host !== undefined) {
        host.sem.release()
        this.#leave(origin, host)
      }
    }
  }

  #host(origin: string): Host | undefined {
    if (!Number.isFinite(this.perHost)) return undefined
    let host = this.#hosts.get(origin)
    if (host === undefined) {
      host = { sem: new Semaphore(this.perHost), users: 0 }
      this.#hosts.set(origin, host)
    }
    return host
  }

  /** Forgets an origin nobody uses, so a client calling many hosts keeps no map of them. */
  #leave(origin: string, host: Host): void {
    if (--host.users === 0) this.#hosts.delete(origin)
  }
}

function cap(value: number, what: string): number {
  if (value === Number.POSITIVE_INFINITY) return value
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be an integer >= 1 (or Infinity)`)
  }
  return value
}
