/**
 * The coordinator's logic, one plain class over synchronous storage, so that the very same
 * code runs inside a Durable Object (`EdgeioCoordinator`, over `ctx.storage.kv`) and in this
 * process (`createLocalCoordinator`, over a `Map`).
 *
 * Why it is shaped this way:
 * - Every state change is read → decide → write with no `await` in between, on synchronous
 *   storage: under a Durable Object's input gate nothing can interleave, and the output gate
 *   holds each reply back until its writes are durable. There is no check-then-act across
 *   an `await`, and no `blockConcurrencyWhile`.
 * - Everything that must survive a restart is in storage: holders, waiters (in order), the
 *   fencing-token counter. Only the wake-up callbacks of calls waiting right now live in
 *   memory; when the object restarts those calls fail, and the clients call again with the
 *   same waiter id and find their place in line (or their grant).
 * - Leases everywhere. A holder's lease is renewed by its client; a waiter's by its own
 *   long-poll calls. Whatever is not renewed expires — at the next call touching the
 *   resource or at the alarm, whichever comes first — so a vanished client wedges nothing.
 * - A long-poll call waits for its grant on a promise resolved by another call to the
 *   object, raced with a timer of its own. Measured: inside a Durable Object such waits
 *   work (no "hung request" cancellation, unlike requests of a stateless worker); the timer
 *   is what bounds the wait so that the reply doubles as the waiter's heartbeat.
 */

import { settlesWithin } from '../lifecycle/settles-within.ts'
import {
  applyRule,
  type QuotaEntry,
  type RateLimitResult,
  type RateLimitRule,
} from '../quota/index.ts'
import type {
  AcquireReply,
  AcquireRequest,
  CoordinatorRpc,
  FencedValue,
  FencedWrite,
  LeaseRef,
  PlainValue,
  ReleaseReply,
  RenewReply,
  RenewRequest,
  ResourceSnapshot,
} from './protocol.ts'
import type { CoordinatorStorage } from './storage.ts'

interface Holder {
  id: string
  token: number
  expiresAt: number
}

interface Waiter {
  id: string
  expiresAt: number
  /** The lease the waiter asked for, granted when its turn comes (maybe in another call). */
  leaseMs: number
}

/** One lock's or semaphore's state, stored as one plain value. */
interface Resource {
  permits: number
  lastToken: number
  holders: Holder[]
  waiters: Waiter[]
}

interface Quota {
  entry: QuotaEntry
  /** After this the entry counts for nothing and the alarm deletes it. */
  expiresAt: number
}

const RESOURCE = 'res:'
const QUOTA = 'quota:'
const VALUE = 'val:'
const ALARM = 'alarm'

/**
 * How long a waiter outlives its last call beyond twice its long-poll time: room for a
 * client to notice a broken call (object restart) and call again.
 */
export const REATTACH_GRACE_MS = 5_000

/** Longest long poll accepted, so that a waiter's heartbeat stays frequent. */
export const MAX_WAIT_MS = 60_000

interface Wake {
  resolve(): void
  reject(error: unknown): void
}

/**
 * Locks, semaphores, rate-limit quotas and fenced values over {@link CoordinatorStorage}.
 * Strict FIFO per resource; fencing tokens strictly increase per resource, forever.
 *
 * @example
 * ```ts
 * const storage = new MemoryCoordinatorStorage()
 * const coordinator = new Coordinator(storage)
 * storage.onAlarm = () => coordinator.alarm()
 * const reply = await coordinator.acquire({ name: 'lock:a', id: 'w1', permits: 1, leaseMs: 30_000, waitMs: 5_000 })
 * ```
 */
export class Coordinator implements CoordinatorRpc {
  readonly #storage: CoordinatorStorage
  /** Calls waiting right now for a grant, by resource and waiter id (memory only). */
  readonly #waiting = new Map<string, Set<Wake>>()

  constructor(storage: CoordinatorStorage) {
    this.#storage = storage
  }

  /**
   * Joins the line for `request.name` (or finds its place again: same `id`), then waits up
   * to `waitMs` for the grant. A granted reply carries the fencing token.
   */
  async acquire(request: AcquireRequest): Promise<AcquireReply> {
    checkAcquire(request)
    const { name, id } = request
    const resource = this.#update(name, (r, now) => {
      r.permits = request.permits
      if (r.holders.some((h) => h.id === id)) return
      const expiresAt = now + 2 * request.waitMs + REATTACH_GRACE_MS
      const waiter = r.waiters.find((w) => w.id === id)
      if (waiter) {
        waiter.expiresAt = expiresAt
        waiter.leaseMs = request.leaseMs
      } else r.waiters.push({ id, expiresAt, leaseMs: request.leaseMs })
    })
    const reply = replyFor(resource, id)
    if (reply.granted || request.waitMs === 0) return reply
    await this.#wait(name, id, request.waitMs)
    return replyFor(this.#load(name), id)
  }

  /** Extends a holder's lease; `held: false` once it expired (and maybe passed on). */
  renew(request: RenewRequest): RenewReply {
    if (!(request.leaseMs > 0)) throw new RangeError('leaseMs must be > 0')
    return this.#update(request.name, (r, now): RenewReply => {
      const holder = r.holders.find((h) => h.id === request.id)
      if (!holder) return { held: false }
      holder.expiresAt = now + request.leaseMs
      return { held: true, expiresAt: holder.expiresAt }
    }).result
  }

  /**
   * Releases a holder's permit or takes a waiter out of line, whichever `id` is: the one
   * call an aborted client makes, since its grant may have raced its abort.
   */
  release(ref: LeaseRef): ReleaseReply {
    return this.#update(ref.name, (r, _now, touched): ReleaseReply => {
      const held = r.holders.findIndex((h) => h.id === ref.id)
      if (held >= 0) {
        r.holders.splice(held, 1)
        touched.push(ref.id)
        return 'released'
      }
      const waiting = r.waiters.findIndex((w) => w.id === ref.id)
      if (waiting >= 0) {
        r.waiters.splice(waiting, 1)
        touched.push(ref.id)
        return 'cancelled'
      }
      return 'unknown'
    }).result
  }

  /** The resource's holders and waiters as of now (expired ones dropped). */
  inspect(name: string): ResourceSnapshot {
    const r = this.#update(name, () => undefined)
    return {
      permits: r.permits,
      lastToken: r.lastToken,
      holders: r.holders.map(({ id, token, expiresAt }) => ({ id, token, expiresAt })),
      waiters: r.waiters.map(({ id, expiresAt }) => ({ id, expiresAt })),
    }
  }

  /** Takes one request's worth of quota, counted exactly like the middleware's MemoryStore. */
  consume(key: string, rule: RateLimitRule): RateLimitResult {
    const now = this.#storage.now()
    const storageKey = QUOTA + key
    const stored = this.#storage.get<Quota>(storageKey)
    const { entry, result } = applyRule(stored?.entry, rule, now)
    // A sliding window's previous count still weighs for one window after the current ends.
    const expiresAt =
      now + result.resetMs + (rule.algorithm === 'sliding-window' ? rule.windowMs : 0)
    this.#storage.put(storageKey, { entry, expiresAt } satisfies Quota)
    this.#schedule(expiresAt, now)
    return result
  }

  /** A value and the highest fencing token that wrote it (`{ value: null, fence: 0 }`). */
  read(key: string): FencedValue {
    return this.#storage.get<FencedValue>(VALUE + key) ?? { value: null, fence: 0 }
  }

  /**
   * Writes `value` unless a writer with a higher `fence` (a fencing token) wrote before:
   * a holder whose lease expired cannot overwrite the work of the one after it.
   */
  write(key: string, value: PlainValue, fence = 0): FencedWrite {
    const current = this.read(key)
    if (fence < current.fence) return { written: false, fence: current.fence }
    this.#storage.put(VALUE + key, { value, fence } satisfies FencedValue)
    return { written: true, fence }
  }

  /** Expires leases, grants freed permits, drops spent quotas; then sets the next alarm. */
  alarm(): void {
    this.#storage.delete(ALARM)
    const now = this.#storage.now()
    let next: number | undefined
    for (const [key, r] of [...this.#storage.list<Resource>(RESOURCE)]) {
      const touched: string[] = []
      expire(r, now, touched)
      promote(r, now, touched)
      if (touched.length > 0) {
        this.#storage.put(key, r)
        this.#wakeAll(key.slice(RESOURCE.length), touched)
      }
      next = earliest(next, deadline(r))
    }
    for (const [key, quota] of [...this.#storage.list<Quota>(QUOTA)]) {
      if (quota.expiresAt <= now) this.#storage.delete(key)
      else next = earliest(next, quota.expiresAt)
    }
    if (next !== undefined) this.#schedule(next, now)
  }

  /**
   * Fails every call waiting in memory with `error`: what a restart does to them. Storage
   * is untouched, so their clients call again and find their place.
   */
  abandon(error: unknown): void {
    for (const wakes of this.#waiting.values()) for (const wake of wakes) wake.reject(error)
    this.#waiting.clear()
  }

  #load(name: string): Resource {
    return (
      this.#storage.get<Resource>(RESOURCE + name) ?? {
        permits: 1,
        lastToken: 0,
        holders: [],
        waiters: [],
      }
    )
  }

  /**
   * The one read → change → write path of a resource: expired leases go first, freed
   * permits are granted last, in line order; then the alarm and the waiting calls of
   * everyone whose state changed.
   */
  #update<R>(
    name: string,
    change: (r: Resource, now: number, touched: string[]) => R
  ): Resource & { result: R } {
    const now = this.#storage.now()
    const r = this.#load(name)
    const touched: string[] = []
    expire(r, now, touched)
    const result = change(r, now, touched)
    promote(r, now, touched)
    // A name never acquired stays out of storage (inspect, release of an unknown id).
    if (r.lastToken > 0 || r.waiters.length > 0) this.#storage.put(RESOURCE + name, r)
    const next = deadline(r)
    if (next !== undefined) this.#schedule(next, now)
    this.#wakeAll(name, touched)
    return Object.assign(r, { result })
  }

  /** Sets the alarm unless one is already due no later than `at`. */
  #schedule(at: number, now: number): void {
    const current = this.#storage.get<number>(ALARM)
    // An alarm in the past is overdue or lost: replacing it costs nothing, since every call
    // expires what it touches itself.
    if (current !== undefined && current <= at && current >= now) return
    this.#storage.put(ALARM, at)
    this.#storage.setAlarm(at)
  }

  async #wait(name: string, id: string, ms: number): Promise<void> {
    const key = waitKey(name, id)
    let wakes = this.#waiting.get(key)
    if (!wakes) {
      wakes = new Set()
      this.#waiting.set(key, wakes)
    }
    let wake: Wake | undefined
    const woken = new Promise<void>((resolve, reject) => {
      wake = { resolve, reject }
    })
    wakes.add(wake as Wake)
    try {
      // Its timer is cleared by this call itself: in workerd a timer belongs to its call.
      await settlesWithin(woken, ms)
    } finally {
      wakes.delete(wake as Wake)
      if (wakes.size === 0 && this.#waiting.get(key) === wakes) this.#waiting.delete(key)
    }
  }

  #wakeAll(name: string, ids: string[]): void {
    for (const id of ids) {
      const wakes = this.#waiting.get(waitKey(name, id))
      if (wakes) for (const wake of wakes) wake.resolve()
    }
  }
}

function checkAcquire(request: AcquireRequest): void {
  if (!Number.isInteger(request.permits) || request.permits < 1) {
    throw new RangeError('permits must be an integer >= 1')
  }
  if (!(request.leaseMs > 0)) throw new RangeError('leaseMs must be > 0')
  if (!(request.waitMs >= 0 && request.waitMs <= MAX_WAIT_MS)) {
    throw new RangeError(`waitMs must be between 0 and ${MAX_WAIT_MS}`)
  }
  if (typeof request.id !== 'string' || request.id === '') throw new TypeError('id is required')
}

function waitKey(name: string, id: string): string {
  return `${name}\u0000${id}`
}

function replyFor(r: Resource, id: string): AcquireReply {
  const holder = r.holders.find((h) => h.id === id)
  if (holder) return { granted: true, token: holder.token, expiresAt: holder.expiresAt }
  return { granted: false, position: r.waiters.findIndex((w) => w.id === id) + 1 }
}

/** Drops holders and waiters whose lease ran out. */
function expire(r: Resource, now: number, touched: string[]): void {
  const alive = <T extends { id: string; expiresAt: number }>(entry: T): boolean => {
    if (entry.expiresAt > now) return true
    touched.push(entry.id)
    return false
  }
  r.holders = r.holders.filter(alive)
  r.waiters = r.waiters.filter(alive)
}

/** Grants free permits to the head of the line, each with the next fencing token. */
function promote(r: Resource, now: number, touched: string[]): void {
  while (r.holders.length < r.permits) {
    const next = r.waiters.shift()
    if (!next) return
    r.lastToken += 1
    r.holders.push({ id: next.id, token: r.lastToken, expiresAt: now + next.leaseMs })
    touched.push(next.id)
  }
}

function deadline(r: Resource): number | undefined {
  let at: number | undefined
  for (const h of r.holders) at = earliest(at, h.expiresAt)
  for (const w of r.waiters) at = earliest(at, w.expiresAt)
  return at
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}
