import {
  applyRule,
  isSpent,
  type QuotaEntry,
  type RateLimitResult,
  type RateLimitRule,
  type RateLimitStore,
  spentAt,
} from '../../quota/index.ts'

export interface MemoryStoreOptions {
  /**
   * Keys held at most. Default 100,000: ≈ 135 bytes a key plus the key itself (≈ 32 bytes
   * for a 20-character one), so ≈ 17 MB at the worst, measured on Node 24
   * (`node --expose-gc bench/rate-limit-store.ts`); memory follows the keys live at the time.
   * A key is dropped once its quota is whole again, so this bounds the clients being counted
   * *at once* (those allowed a request within two windows, or one bucket refill), not the
   * clients seen. When every key held is still counting, a request under a new key is
   * refused (fail closed, with `Retry-After`) rather than a live key evicted: see
   * `MemoryStore`.
   */
  maxKeys?: number
  /** The clock, in milliseconds (tests pass a fake one). Default `Date.now`. */
  now?: () => number
  /** Where the one-time "store is full" warning goes. Default `console.warn`. */
  warn?: (message: string) => void
}

/** A key held by a lane: a node of its list, in the order of the last request allowed. */
interface Held {
  readonly key: string
  quota: QuotaEntry
  prev: Held | undefined
  next: Held | undefined
}

/**
 * One rule's keys: a `Map` to find them, and a list in the order of the last request each
 * allowed (the oldest, soonest spent, first). A list rather than the `Map`'s own order: a
 * `Map` keeps a hole for each deleted entry until it next grows, so finding its first entry
 * after many moves costs a walk over those holes (≈ 17 µs a request at 10,000 keys).
 */
interface Lane {
  readonly rule: RateLimitRule
  readonly keys: Map<string, Held>
  head: Held | undefined
  tail: Held | undefined
}

function unlink(lane: Lane, held: Held): void {
  if (held.prev) held.prev.next = held.next
  else lane.head = held.next
  if (held.next) held.next.prev = held.prev
  else lane.tail = held.prev
  held.prev = held.next = undefined
}

function append(lane: Lane, held: Held): void {
  held.prev = lane.tail
  if (lane.tail) lane.tail.next = held
  else lane.head = held
  lane.tail = held
}

const sameRule = (a: RateLimitRule, b: RateLimitRule): boolean =>
  a.algorithm === 'sliding-window'
    ? b.algorithm === 'sliding-window' && a.limit === b.limit && a.windowMs === b.windowMs
    : b.algorithm === 'token-bucket' &&
      a.capacity === b.capacity &&
      a.refillPerSecond === b.refillPerSecond

/**
 * Quotas in a `Map`, per process on Node and Deno and per isolate on Workers (where
 * requests of one client may reach different isolates: use a Durable Object store for a
 * limit that holds across the deployment). No timer runs.
 *
 * **Memory is bounded by `maxKeys`, and no client can reset its own quota by filling the
 * table.** Only spent entries are ever dropped, those a fresh entry would equal (both of a
 * window's counts slid out, a bucket full again): at the latest `2 × windowMs`, or
 * `capacity / refillPerSecond` seconds, after the key's last allowed request. Keys are
 * kept in the order of their last allowed request, so the soonest spent is at the front and
 * reclaiming is amortised O(1): no scan, whatever the table holds. When every key held is
 * still live, a request under a *new* key is refused (`allowed: false`, `Retry-After` until
 * the oldest key is spent; a warning is logged once), and keys already held count on
 * unchanged. Fail closed: a flood of fresh keys can make new clients wait, never give a
 * limited client its quota back. Refused requests change nothing and are not stored.
 *
 * Each rule (algorithm and figures) counts its own keys, so one store may serve several
 * `rateLimit()` rules without their counts mixing.
 *
 * The sliding window is the two-counter approximation Cloudflare's own limiter uses: the
 * previous window's count, weighted by how much of it still overlaps, plus the current
 * window's count. O(1) memory per key; no fixed window ever admits more than `limit`, and
 * the double burst that plain fixed windows allow across an edge is smoothed away (it
 * assumes the previous window's requests were spread evenly, so a span straddling two
 * windows can hold a few more than `limit`).
 */
export class MemoryStore implements RateLimitStore {
  readonly #lanes: Lane[] = []
  readonly #maxKeys: number
  readonly #now: () => number
  readonly #warn: (message: string) => void
  #size = 0
  #warned = false
  #refusedNewKeys = 0
  /** The last rule seen and its lane: one middleware passes the same rule object each time. */
  #lastRule: RateLimitRule | undefined
  #lastLane: Lane | undefined

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 100_000
    if (!(maxKeys >= 1)) throw new RangeError('MemoryStore: maxKeys must be ≥ 1')
    this.#maxKeys = maxKeys
    this.#now = options.now ?? Date.now
    this.#warn = options.warn ?? ((message) => console.warn(message))
  }

  /** Keys currently held (live, or spent and not yet reclaimed). */
  get size(): number {
    return this.#size
  }

  /** Requests refused because the table was full of live keys, since the store was made. */
  get refusedNewKeys(): number {
    return this.#refusedNewKeys
  }

  consume(key: string, rule: RateLimitRule): RateLimitResult {
    const lane = this.#laneFor(rule)
    const now = this.#now()
    const held = lane.keys.get(key)
    if (held === undefined) {
      this.#reclaim(lane, now)
      if (this.#size >= this.#maxKeys) {
        for (const other of this.#lanes) if (other !== lane) this.#reclaim(other, now)
        if (this.#size >= this.#maxKeys) return this.#refuseNewKey(rule, now)
      }
    }
    const applied = applyRule(held?.quota, rule, now)
    // Only a request that took quota moves its key to the back: a refusal changes nothing a
    // fresh entry would not (and a refused new key is not stored at all).
    if (applied.result.allowed) {
      if (held === undefined) {
        const added: Held = { key, quota: applied.entry, prev: undefined, next: undefined }
        lane.keys.set(key, added)
        append(lane, added)
        this.#size++
      } else {
        held.quota = applied.entry
        if (held !== lane.tail) {
          unlink(lane, held)
          append(lane, held)
        }
      }
    }
    return applied.result
  }

  #laneFor(rule: RateLimitRule): Lane {
    if (rule === this.#lastRule && this.#lastLane) return this.#lastLane
    let lane = this.#lanes.find((l) => sameRule(l.rule, rule))
    if (!lane) {
      lane = { rule: { ...rule }, keys: new Map(), head: undefined, tail: undefined }
      this.#lanes.push(lane)
    }
    this.#lastRule = rule
    this.#lastLane = lane
    return lane
  }

  /** Drops the spent keys at the front of `lane`: each key is dropped once, so O(1) amortised. */
  #reclaim(lane: Lane, now: number): void {
    for (let held = lane.head; held && isSpent(held.quota, lane.rule, now); held = lane.head) {
      unlink(lane, held)
      lane.keys.delete(held.key)
      this.#size--
    }
  }

  #refuseNewKey(rule: RateLimitRule, now: number): RateLimitResult {
    this.#refusedNewKeys++
    // The soonest a key will be spent and reclaimed: the front of some lane.
    let soonest = Number.POSITIVE_INFINITY
    for (const lane of this.#lanes) {
      if (lane.head) soonest = Math.min(soonest, spentAt(lane.head.quota, lane.rule))
    }
    const waitMs = Math.max(1, Math.ceil(soonest - now))
    if (!this.#warned) {
      this.#warned = true
      this.#warn(
        `edgeio rateLimit: MemoryStore is full (maxKeys = ${this.#maxKeys}, every key still counting); ` +
          `requests under new keys are refused until a key is spent (the next in ${waitMs} ms). ` +
          'Raise maxKeys, or key on something clients cannot mint. Logged once per store.'
      )
    }
    return {
      allowed: false,
      limit: rule.algorithm === 'sliding-window' ? rule.limit : rule.capacity,
      remaining: 0,
      resetMs: waitMs,
      retryAfterMs: waitMs,
    }
  }
}
