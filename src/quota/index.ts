/**
 * Quotas: how one request's worth of a rate limit is counted, as plain data and pure
 * functions. Neutral ground shared by the `rateLimit()` middleware's `MemoryStore` and the
 * coordinator (Durable Object, local) so that every store counts alike.
 */

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
 * Takes one request's worth of quota from `entry` (a fresh one when `undefined` or spent),
 * updating it in place. Shared by `MemoryStore` and the Durable Object store so that both count alike.
 */
export function applyRule(
  entry: QuotaEntry | undefined,
  rule: RateLimitRule,
  now: number
): { entry: QuotaEntry; result: RateLimitResult } {
  // A spent entry counts as a fresh one, whether or not a store has dropped it yet: the
  // outcome never depends on when (or whether) spent entries are reclaimed.
  if (entry !== undefined && isSpent(entry, rule, now)) entry = undefined
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
 * Whether `entry` holds no information any more: a fresh entry would count exactly alike
 * (a sliding window whose counts have both slid out, a token bucket that is full again).
 */
export function isSpent(entry: QuotaEntry, rule: RateLimitRule, now: number): boolean {
  if (rule.algorithm === 'sliding-window') {
    const w = entry as WindowEntry
    // The current count weighs until two windows from its start (as the previous count in
    // the next window); a previous count alone, until one window from it.
    return now >= w.start + (w.current > 0 ? 2 : 1) * rule.windowMs
  }
  const b = entry as BucketEntry
  // The same sum `takeToken` refills with, so "spent" and "full again" agree exactly.
  return b.tokens + ((now - b.updated) / 1000) * rule.refillPerSecond >= rule.capacity
}

/** The moment `entry` will be spent (see `isSpent`), in the clock's milliseconds. */
export function spentAt(entry: QuotaEntry, rule: RateLimitRule): number {
  if (rule.algorithm === 'sliding-window') {
    const w = entry as WindowEntry
    return w.start + (w.current > 0 ? 2 : 1) * rule.windowMs
  }
  const b = entry as BucketEntry
  return b.updated + Math.ceil(((rule.capacity - b.tokens) / rule.refillPerSecond) * 1000)
}

/**
 * The longest a key's entry stays live after the last request it allowed: two windows, or
 * the time to refill an empty bucket.
 */
export function quotaLifetimeMs(rule: RateLimitRule): number {
  return rule.algorithm === 'sliding-window'
    ? 2 * rule.windowMs
    : Math.ceil((rule.capacity / rule.refillPerSecond) * 1000)
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
