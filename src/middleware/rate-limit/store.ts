/** How requests are counted: a sliding window or a token bucket. */
export type RateLimitRule =
  | {
      algorithm: 'sliding-window'
      /** Requests allowed per window. */
      limit: number
      windowMs: number
    }
  | {
      algorithm: 'token-bucket'
      /** Bucket size: the burst allowed after a quiet period. */
      capacity: number
      /** Tokens added back per second. */
      refillPerSecond: number
    }

/** The outcome of taking one request's worth of quota. */
export interface RateLimitResult {
  allowed: boolean
  /** The quota: `limit` or `capacity`. */
  limit: number
  /** Requests left right now. */
  remaining: number
  /** Milliseconds until the quota is whole again. */
  resetMs: number
  /** When refused: milliseconds until one request would pass. `0` when allowed. */
  retryAfterMs: number
}

/**
 * Where quotas live. The check and the update happen in one call so that a store shared
 * by many isolates (a Durable Object) can make them atomic.
 */
export interface RateLimitStore {
  consume(key: string, rule: RateLimitRule): RateLimitResult | Promise<RateLimitResult>
}

export interface MemoryStoreOptions {
  /** Keys kept at most; the least recently seen is dropped first. Default 10,000. */
  maxKeys?: number
  /** The clock, in milliseconds (tests pass a fake one). Default `Date.now`. */
  now?: () => number
}

/** A sliding window's counters for one key (plain data: a Durable Object stores it as is). */
export interface WindowEntry {
  start: number
  current: number
  previous: number
}

/** A token bucket for one key (plain data: a Durable Object stores it as is). */
export interface BucketEntry {
  tokens: number
  updated: number
}

/** One key's quota state under either algorithm. */
export type QuotaEntry = WindowEntry | BucketEntry

/**
 * Takes one request's worth of quota from `entry` (a fresh one when `undefined`), updating
 * it in place. Shared by `MemoryStore` and the Durable Object store so that both count alike.
 */
export function applyRule(
  entry: QuotaEntry | undefined,
  rule: RateLimitRule,
  now: number
): { entry: QuotaEntry; result: RateLimitResult } {
  if (rule.algorithm === 'sliding-window') {
    const window = (entry as WindowEntry | undefined) ?? { start: now, current: 0, previous: 0 }
    return { entry: window, result: slideWindow(window, rule.limit, rule.windowMs, now) }
  }
  const bucket = (entry as BucketEntry | undefined) ?? { tokens: rule.capacity, updated: now }
  return {
    entry: bucket,
    result: takeToken(bucket, rule.capacity, rule.refillPerSecond, now),
  }
}

/**
 * Quotas in a `Map`, per process on Node and Deno and per isolate on Workers (where
 * requests of one client may reach different isolates: use a Durable Object store for a
 * limit that holds across the deployment). Memory is bounded by `maxKeys`; no timer runs.
 *
 * The sliding window is the two-counter approximation Cloudflare's own limiter uses: the
 * previous window's count, weighted by how much of it still overlaps, plus the current
 * window's count. O(1) memory per key; no fixed window ever admits more than `limit`, and
 * the double burst that plain fixed windows allow across an edge is smoothed away (it
 * assumes the previous window's requests were spread evenly, so a span straddling two
 * windows can hold a few more than `limit`).
 */
export class MemoryStore implements RateLimitStore {
  readonly #entries = new Map<string, QuotaEntry>()
  readonly #maxKeys: number
  readonly #now: () => number

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 10_000
    this.#now = options.now ?? Date.now
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.#entries.size
  }

  consume(key: string, rule: RateLimitRule): RateLimitResult {
    const entry = this.#entries.get(key)
    // Re-inserting keeps the Map in least-recently-seen order for eviction.
    if (entry) this.#entries.delete(key)
    else if (this.#entries.size >= this.#maxKeys) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    const applied = applyRule(entry, rule, this.#now())
    this.#entries.set(key, applied.entry)
    return applied.result
  }
}

function slideWindow(
  w: WindowEntry,
  limit: number,
  windowMs: number,
  now: number
): RateLimitResult {
  const windowsPassed = Math.floor((now - w.start) / windowMs)
  if (windowsPassed > 0) {
    w.previous = windowsPassed === 1 ? w.current : 0
    w.current = 0
    w.start += windowsPassed * windowMs
  }
  const elapsed = now - w.start
  // The estimate previous·(1 − elapsed/W) + current, times W: whole milliseconds then
  // compare exactly, so a request at the moment a refusal named is not refused again
  // by a rounding error (3·(1 − 20000/60000) is 2.0000000000000004 in floating point).
  const scaled = w.previous * (windowMs - elapsed) + w.current * windowMs
  const allowed = scaled + windowMs <= limit * windowMs
  if (allowed) w.current++
  const resetMs = w.start + windowMs - now
  let retryAfterMs = 0
  if (!allowed) {
    // The earliest elapsed time e at which previous·(W − e) + (current + 1)·W ≤ limit·W,
    // in this window if the current count leaves room, else in the next one (where the
    // current count has become the previous one).
    retryAfterMs =
      w.current + 1 <= limit
        ? windowMs - ((limit - 1 - w.current) * windowMs) / w.previous - elapsed
        : resetMs + Math.max(0, windowMs - ((limit - 1) * windowMs) / w.current)
  }
  return {
    allowed,
    limit,
    remaining: Math.max(0, Math.floor((limit * windowMs - scaled) / windowMs) - (allowed ? 1 : 0)),
    resetMs,
    retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)),
  }
}

function takeToken(
  b: BucketEntry,
  capacity: number,
  refillPerSecond: number,
  now: number
): RateLimitResult {
  // The tokens `ms` after the last request that took one. A refusal changes nothing, so
  // the moment it names is computed exactly as the request made then will be: storing
  // each refusal's refill would let rounding drift it by a millisecond.
  const refilled = (ms: number) => Math.min(capacity, b.tokens + (ms / 1000) * refillPerSecond)
  const tokens = refilled(now - b.updated)
  const allowed = tokens >= 1
  let retryAfterMs = 0
  if (allowed) {
    b.tokens = tokens - 1
    b.updated = now
  } else {
    const since = now - b.updated
    retryAfterMs = Math.max(1, Math.ceil(((1 - b.tokens) / refillPerSecond) * 1000) - since)
    // Rounding can put that a millisecond off the first one at which refilled() really
    // makes a whole token: step to exactly that one.
    while (refilled(since + retryAfterMs) < 1) retryAfterMs++
    while (retryAfterMs > 1 && refilled(since + retryAfterMs - 1) >= 1) retryAfterMs--
  }
  const left = allowed ? b.tokens : tokens
  return {
    allowed,
    limit: capacity,
    remaining: Math.floor(left),
    resetMs: Math.ceil(((capacity - left) / refillPerSecond) * 1000),
    retryAfterMs,
  }
}
