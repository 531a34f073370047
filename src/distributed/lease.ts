/**
 * The client half of distributed locks and semaphores: the long-poll acquire loop, lease
 * renewal while held, and retries with the same waiter id when the coordinator restarts.
 * `DistributedLock` and `DistributedSemaphore` are thin names over {@link LeasedPermits}.
 */
import type { WaitOptions } from '../sync/waiter.ts'
import { sleep } from '../tasks/sleep.ts'
import {
  type Instrumentation,
  instrumentation,
  seconds,
  type WaitRecord,
} from '../telemetry/instrumentation.ts'
import {
  ATTR_DISTRIBUTED_OUTCOME,
  ATTR_PRIMITIVE,
  ATTR_PRIMITIVE_NAME,
  METRIC_DISTRIBUTED_ACQUIRE_DURATION,
  METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS,
  METRIC_LEASE_LOST,
  PRIMITIVE_DISTRIBUTED_LOCK,
  PRIMITIVE_DISTRIBUTED_SEMAPHORE,
} from '../telemetry/names.ts'
import { MAX_WAIT_MS } from './coordinator.ts'
import { CoordinatorUnavailableError, isTransient, LeaseLostError, NotHeldError } from './errors.ts'
import {
  type AcquireReply,
  type CoordinatorNamespace,
  type CoordinatorStub,
  resourceName,
} from './protocol.ts'

/** Tuning shared by `DistributedLock` and `DistributedSemaphore`. */
export interface DistributedOptions {
  /**
   * Lease length in milliseconds. The holder renews it while it holds (every
   * `renewEveryMs`); a holder that stops renewing (crashed, frozen, its request gone) loses
   * the permit this long after its last renewal, and the next waiter gets it. Default 30 s.
   */
  leaseMs?: number
  /** Renewal period while held. Default `leaseMs / 3`. */
  renewEveryMs?: number
  /**
   * How long one acquire call waits inside the coordinator before answering "still waiting"
   * and being made again. Each call proves the waiter alive: a waiter whose client vanished
   * leaves the line about `2 × pollMs + 5 s` after its last call. Default 5 s, at most 60 s.
   */
  pollMs?: number
  /** Consecutive transient failures (object restarted, connection lost) retried. Default 8. */
  retries?: number
}

/** A held permit of a distributed lock or semaphore. */
export interface DistributedLease {
  /** The lock's or semaphore's name. */
  readonly name: string
  /**
   * The fencing token: strictly greater than every token handed out before for this name.
   * Pass it to the store you write to, so that it can refuse a writer whose lease expired.
   */
  readonly token: number
  /** When the lease ends unless renewed (coordinator's clock, ms since the epoch). */
  readonly expiresAt: number
  /** Aborts with {@link LeaseLostError} if the lease is lost while held. */
  readonly signal: AbortSignal
  /** Gives the permit back (idempotent). */
  release(): Promise<void>
}

interface Settings {
  leaseMs: number
  renewEveryMs: number
  pollMs: number
  retries: number
}

function settings(options: DistributedOptions): Settings {
  const leaseMs = options.leaseMs ?? 30_000
  const renewEveryMs = options.renewEveryMs ?? leaseMs / 3
  const pollMs = options.pollMs ?? 5_000
  const retries = options.retries ?? 8
  if (!(leaseMs > 0)) throw new RangeError('leaseMs must be > 0')
  if (!(renewEveryMs > 0 && renewEveryMs < leaseMs)) {
    throw new RangeError('renewEveryMs must be > 0 and < leaseMs')
  }
  if (!(pollMs > 0 && pollMs <= MAX_WAIT_MS)) {
    throw new RangeError(`pollMs must be > 0 and <= ${MAX_WAIT_MS}`)
  }
  if (!(Number.isInteger(retries) && retries >= 0)) {
    throw new RangeError('retries must be an integer >= 0')
  }
  return { leaseMs, renewEveryMs, pollMs, retries }
}

/**
 * Calls one coordinator object, retrying transient failures. A Durable Object stub is broken
 * for good once its object resets, so a retry gets a fresh stub. Stubs are made lazily, per
 * lease: in workerd a stub belongs to the request that made it.
 */
class Connection {
  readonly binding: CoordinatorNamespace
  readonly objectName: string
  readonly retries: number
  #stub: CoordinatorStub | undefined

  constructor(binding: CoordinatorNamespace, objectName: string, retries: number) {
    this.binding = binding
    this.objectName = objectName
    this.retries = retries
  }

  get stub(): CoordinatorStub {
    this.#stub ??= this.binding.get(this.binding.idFromName(this.objectName))
    return this.#stub
  }

  async call<T>(rpc: (stub: CoordinatorStub) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let failures = 0; ; ) {
      try {
        return await untilAborted(rpc(this.stub), signal)
      } catch (error) {
        if (signal?.aborted || !isTransient(error)) throw error
        this.#stub = undefined
        if (++failures > this.retries) {
          throw new CoordinatorUnavailableError(
            `coordinator ${this.objectName}: ${failures} transient failures in a row`,
            { cause: error }
          )
        }
        await backoff(failures, signal)
      }
    }
  }
}

class HeldLease implements DistributedLease {
  readonly name: string
  readonly token: number
  /** Made on first use of `signal` (or on loss): most leases are released unobserved. */
  #controller: AbortController | undefined
  readonly #connection: Connection
  readonly #id: string
  readonly #leaseMs: number
  readonly #renewEveryMs: number
  readonly #onEnd: (lease: HeldLease) => void
  #expiresAt: number
  /**
   * The one timer of the lease: set for the next renewal, or for the local deadline when that
   * comes first or a renewal is under way. One timer rather than an interval and a deadline
   * timer: each costs a few µs to set and clear, per lease.
   */
  #timer: ReturnType<typeof setTimeout> | undefined
  /** When the next renewal is due (every `renewEveryMs` from the grant, as an interval). */
  #renewAt: number
  /**
   * The local deadline: when the call that granted or last renewed the lease was sent, plus
   * `leaseMs`, on this process's clock. The coordinator's lease cannot have outlived it, so
   * the signal aborts then without waiting for a renew call that hangs (a paused Redis), and
   * no clock skew between here and the coordinator moves it.
   */
  #deadline: number
  #renewing = false
  #ended = false
  #lost: LeaseLostError | undefined

  constructor(
    name: string,
    token: number,
    expiresAt: number,
    id: string,
    connection: Connection,
    s: Settings,
    onEnd: (lease: HeldLease) => void,
    sentAt: number
  ) {
    this.name = name
    this.token = token
    this.#expiresAt = expiresAt
    this.#id = id
    this.#connection = connection
    this.#leaseMs = s.leaseMs
    this.#renewEveryMs = s.renewEveryMs
    this.#onEnd = onEnd
    this.#deadline = sentAt + s.leaseMs
    this.#renewAt = Date.now() + s.renewEveryMs
  }

  /**
   * Sets the timer (again) for whichever comes first: the next renewal (none while one is
   * under way) or the local deadline.
   */
  arm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#ended) return
    const at = this.#renewing ? this.#deadline : Math.min(this.#renewAt, this.#deadline)
    this.#timer = setTimeout(this.#tick, Math.max(0, at - Date.now()))
    // On Node a forgotten lease must not keep the process alive (it expires by itself).
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  /**
   * The timer: past the local deadline the lease is lost (even while a renew call hangs);
   * else a renewal is started if one is due. Checked against the clock rather than trusted:
   * a timer may fire a millisecond early by `Date.now()`, and is then simply set again.
   */
  readonly #tick = (): void => {
    this.#timer = undefined
    if (this.#ended) return
    const now = Date.now()
    if (now >= this.#deadline) {
      this.#lose(`no renewal within ${this.#leaseMs} ms`)
      return
    }
    if (!this.#renewing && now >= this.#renewAt) {
      this.#renewAt = now + this.#renewEveryMs
      void this.#renew()
    }
    this.arm()
  }

  /**
   * Renews at once and arms the timer from that call: for a grant that came so late in its
   * call (a long poll) that little or none of the local lease may be left. No timer runs
   * meanwhile: the deadline counts from this call's answer, and the caller awaits it.
   */
  renewNow(): Promise<void> {
    return this.#renew()
  }

  get expiresAt(): number {
    return this.#expiresAt
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }

  /** Why the lease was lost while held, if it was (what `signal` aborts with). */
  get lost(): LeaseLostError | undefined {
    return this.#lost
  }

  async release(): Promise<void> {
    if (this.#ended) return
    this.#end()
    const name = this.#connection.objectName
    await this.#connection.call((stub) => stub.release({ name, id: this.#id }))
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#ended) return
    this.#renewing = true
    const sentAt = Date.now()
    try {
      const name = this.#connection.objectName
      const reply = await this.#connection.call((stub) =>
        stub.renew({ name, id: this.#id, leaseMs: this.#leaseMs })
      )
      if (this.#ended) return
      this.#renewing = false // before arm(): the next renewal is due again
      if (reply.held) {
        this.#expiresAt = reply.expiresAt
        this.#deadline = sentAt + this.#leaseMs
        this.arm()
      } else this.#lose('the coordinator no longer knows this lease (it expired)')
    } catch (error) {
      // Unreachable coordinator: the lease still counts until its local deadline; retry at
      // the next renewal (the timer aborts the signal on time even while this call hangs).
      if (this.#ended) return
      this.#renewing = false // before arm(), as above
      if (Date.now() >= this.#deadline) this.#lose('renewal failed', error)
      else this.arm()
    } finally {
      this.#renewing = false
    }
  }

  #lose(why: string, cause?: unknown): void {
    instrumentation?.add(METRIC_LEASE_LOST, 1, { [ATTR_PRIMITIVE_NAME]: this.name })
    this.#end()
    this.#lost = new LeaseLostError(`lease ${this.token} of ${this.name} lost: ${why}`, { cause })
    this.#controller ??= new AbortController()
    this.#controller.abort(this.#lost)
  }

  #end(): void {
    this.#ended = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#onEnd(this)
  }
}

/**
 * N permits of one name, held through the coordinator (the shared machinery of
 * `DistributedLock` and `DistributedSemaphore`).
 */
export class LeasedPermits {
  /** The lock's or semaphore's name. */
  readonly name: string
  /** Holders allowed at once. */
  readonly permits: number
  readonly #binding: CoordinatorNamespace
  readonly #object: string
  /** `DistributedLock` or `DistributedSemaphore`, for telemetry. */
  readonly #primitive: string
  readonly #settings: Settings
  readonly #held: HeldLease[] = []
  readonly #forget = (lease: HeldLease): void => {
    const at = this.#held.indexOf(lease)
    if (at >= 0) this.#held.splice(at, 1)
  }

  constructor(
    binding: CoordinatorNamespace,
    kind: 'lock' | 'semaphore',
    name: string,
    permits: number,
    options: DistributedOptions
  ) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError('permits must be an integer >= 1')
    }
    this.name = name
    this.permits = permits
    this.#binding = binding
    this.#object = resourceName(kind, name)
    this.#primitive = kind === 'lock' ? PRIMITIVE_DISTRIBUTED_LOCK : PRIMITIVE_DISTRIBUTED_SEMAPHORE
    this.#settings = settings(options)
  }

  /** Leases this instance holds right now. */
  get held(): number {
    return this.#held.length
  }

  /**
   * Waits for a permit, in FIFO order across every client of this name, and returns the
   * lease (with its fencing token). Its renewal runs until `release()`. An aborted signal
   * rejects with its reason and leaves nothing behind in the coordinator: the waiter is
   * removed, or the permit given back if the grant raced the abort.
   */
  acquire(opts?: WaitOptions): Promise<DistributedLease> {
    return this.#acquire(opts)
  }

  async #acquire(opts: WaitOptions | undefined): Promise<HeldLease> {
    const signal = opts?.signal
    signal?.throwIfAborted()
    const s = this.#settings
    const connection = new Connection(this.#binding, this.#object, s.retries)
    const id = crypto.randomUUID()
    const request = {
      name: this.#object,
      id,
      permits: this.permits,
      leaseMs: s.leaseMs,
      waitMs: s.pollMs,
    }
    let reply: AcquireReply
    let sentAt: number
    // Every acquire is I/O: traced as a wait (span, `edgeio.wait.duration`) with its round trips.
    const ins = instrumentation
    const wait = ins?.startWait(this.#primitive, 'acquire', this.name)
    const startedAt = ins === undefined ? 0 : seconds()
    let roundTrips = 0
    try {
      do {
        sentAt = Date.now()
        roundTrips++
        reply = await connection.call((stub) => stub.acquire(request), signal)
      } while (!reply.granted)
    } catch (error) {
      if (ins !== undefined) {
        const outcome = signal?.aborted && error === signal.reason ? 'aborted' : 'error'
        this.#measure(ins, wait, startedAt, roundTrips, outcome, error)
      }
      // Leave no waiter (or raced grant) behind. Calls on one stub arrive in order, so this
      // release reaches the object after the acquire it follows. If the coordinator cannot
      // be reached, the waiter expires on its own.
      await connection.call((stub) => stub.release({ name: this.#object, id })).catch(() => {})
      throw error
    }
    if (ins !== undefined) {
      this.#measure(ins, wait, startedAt, roundTrips, 'acquired', undefined)
    }
    const lease = new HeldLease(
      this.name,
      reply.token,
      reply.expiresAt,
      id,
      connection,
      s,
      this.#forget,
      sentAt
    )
    this.#held.push(lease)
    if (Date.now() - sentAt > s.leaseMs - s.renewEveryMs) await lease.renewNow()
    else lease.arm()
    return lease
  }

  #measure(
    ins: Instrumentation,
    wait: WaitRecord | undefined,
    startedAt: number,
    roundTrips: number,
    outcome: 'acquired' | 'aborted' | 'error',
    error: unknown
  ): void {
    const attributes = {
      [ATTR_PRIMITIVE]: this.#primitive,
      [ATTR_PRIMITIVE_NAME]: this.name,
      [ATTR_DISTRIBUTED_OUTCOME]: outcome,
    }
    ins.record(METRIC_DISTRIBUTED_ACQUIRE_DURATION, seconds() - startedAt, attributes)
    ins.record(METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS, roundTrips, attributes)
    wait?.end(outcome, error)
  }

  /**
   * Gives back `lease`, or without one the oldest lease this instance holds. Throws
   * {@link NotHeldError} when this instance holds nothing.
   */
  async release(lease?: DistributedLease): Promise<void> {
    const target = lease ?? this.#held[0]
    if (!target) throw new NotHeldError(`${this.#object} is not held by this instance`)
    await target.release()
  }

  /**
   * Runs `fn(lease)` holding a permit and always releases it. Rejects with
   * {@link LeaseLostError} when the lease was lost while `fn` ran (unless `fn` failed), since
   * its work may then have overlapped another holder's.
   */
  async run<R>(
    fn: (lease: DistributedLease) => R | PromiseLike<R>,
    opts?: WaitOptions
  ): Promise<Awaited<R>> {
    const lease = await this.#acquire(opts)
    let result: Awaited<R>
    try {
      result = await fn(lease)
    } catch (error) {
      await lease.release().catch(() => {})
      throw error
    }
    const lost = lease.lost
    await lease.release()
    if (lost) throw lost
    return result
  }
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  promise.catch(() => {}) // left behind on abort: its rejection is nobody's business
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      }
    )
  })
}

/** Exponential back-off with jitter: 25 ms, 50 ms, … up to 1 s. */
function backoff(failures: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.min(1000, 25 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2)
  return sleep(ms, { signal })
}
