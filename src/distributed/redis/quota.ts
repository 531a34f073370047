/**
 * Rate-limit quotas on Redis: `applyRule` ported to one Lua script, so that every process
 * sharing a Redis counts a key alike, atomically, in one round trip per request.
 */

import type { Cluster, Redis } from 'ioredis'
import type { RateLimitResult, RateLimitRule } from '../../quota/index.ts'

/** A client that runs scripts: a `Redis` connection or a `Cluster` (one key per call). */
export type RedisScriptClient = Redis | Cluster

/**
 * `applyRule` (src/quota/index.ts) line for line, same operations in the same order, so that
 * IEEE doubles give the same bits in Lua as in JavaScript; Lua's `math.max`/`math.min` keep
 * their first argument on a tie, which matches `Math.max`/`Math.min` for the values met here.
 *
 * KEYS[1]: the quota's key. ARGV: `w limit windowMs [now]` or `b capacity refillPerSecond
 * [now]`. The state is one short binary string, doubles as they are (`struct.pack`, so no
 * decimal text to lose digits or cost time): `'w'` and `<start> <current> <previous>` (25
 * bytes), or `'b'` and `<tokens> <updated>` (17 bytes); a value of another shape (the other
 * algorithm's) counts as none.
 *
 * The reply is one integer in the usual case, `allowed + 2 × (remaining + R × (resetMs +
 * 2^26 × retryAfterMs))` with `R = floor(limit or capacity) + 1` (see {@link unpack}): an
 * integer reply costs both Redis and ioredis less than an array (a few % of a decision's
 * round trip on loopback). It is used only when every figure is whole, each below its base,
 * and the sum below 2^53, so that every step is exact in a double and in Redis's integer
 * reply. Otherwise the reply is `{allowed 1|0, remaining, resetMs, retryAfterMs}`: Redis cuts
 * a number returned from a script to an integer, so a value with a fraction (a reset under a
 * window of fractional milliseconds) comes back as text, in `%.17g`, which round-trips a
 * double (Lua's own `tostring` keeps 14 digits).
 *
 * The clock is Redis's (`TIME`, in whole milliseconds like `Date.now()`), so that processes
 * whose clocks drift still agree. The key expires (`PXAT`) when `Coordinator.consume` would
 * drop it: a sliding window's previous count weighs for one window after the current ends.
 * Redis deletes a key only once that millisecond has passed, when the entry is spent by
 * `isSpent`'s own sum, even where `Math.ceil` lands a rounding error short of it. The expiry
 * is set only when it moves: a refusal that changes nothing (no window slid) writes nothing,
 * as in `MemoryStore`, and a request counted in the same window keeps the key's expiry
 * (`KEEPTTL`), which is `start + 2 × windowMs` either way. The coordinator recomputes the
 * same sum at every request instead, which with fractional figures a rounding can move by a
 * millisecond. Every write costs Redis time, and under a flood most requests are refusals.
 */
const SCRIPT = `
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local key = KEYS[1]
-- Arithmetic turns a numeric string into its number as tonumber() does, without a call.
local a = ARGV[2] + 0
local b = ARGV[3] + 0
local now
if ARGV[4] then
  now = ARGV[4] + 0
else
  local t = redis.call('TIME')
  now = t[1] * 1000 + floor(t[2] / 1000)
end
local stored = redis.call('GET', key)
local allowed, remaining, resetMs, retry, state, expiresAt
if ARGV[1] == 'w' then
  local limit, windowMs = a, b
  local start, current, previous
  if stored and #stored == 25 and string.byte(stored) == 119 then -- 'w'
    local _
    _, start, current, previous = struct.unpack('<Bddd', stored)
  end
  if start and now >= start + (current > 0 and 2 or 1) * windowMs then start = nil end
  -- Whether this request starts a window (fresh or slid): only then does the expiry move.
  local started = not start
  if started then start, current, previous = now, 0, 0 end
  local windowsPassed = floor((now - start) / windowMs)
  if windowsPassed > 0 then
    started = true
    if windowsPassed == 1 then previous = current else previous = 0 end
    current = 0
    start = start + windowsPassed * windowMs
  end
  local elapsed = now - start
  local scaled = previous * (windowMs - elapsed) + current * windowMs
  allowed = scaled + windowMs <= limit * windowMs
  if allowed then current = current + 1 end
  resetMs = start + windowMs - now
  retry = 0
  if not allowed then
    if current + 1 <= limit then
      retry = windowMs - ((limit - 1 - current) * windowMs) / previous - elapsed
    else
      retry = resetMs + max(0, windowMs - ((limit - 1) * windowMs) / current)
    end
  end
  remaining = max(0, floor((limit * windowMs - scaled) / windowMs) - (allowed and 1 or 0))
  retry = max(0, ceil(retry))
  if allowed or started then
    state = struct.pack('<Bddd', 119, start, current, previous)
    if started then expiresAt = now + resetMs + windowMs end
  end
else
  local capacity, rate = a, b
  local tokens, updated
  if stored and #stored == 17 and string.byte(stored) == 98 then -- 'b'
    local _
    _, tokens, updated = struct.unpack('<Bdd', stored)
  end
  if tokens and tokens + ((now - updated) / 1000) * rate >= capacity then tokens = nil end
  if not tokens then tokens, updated = capacity, now end
  -- refilled(ms) of applyRule, written out: min(capacity, tokens + (ms / 1000) * rate)
  local have = min(capacity, tokens + ((now - updated) / 1000) * rate)
  allowed = have >= 1
  retry = 0
  if allowed then
    tokens = have - 1
    updated = now
  else
    local since = now - updated
    retry = max(1, ceil(((1 - tokens) / rate) * 1000) - since)
    while min(capacity, tokens + ((since + retry) / 1000) * rate) < 1 do retry = retry + 1 end
    while retry > 1 and min(capacity, tokens + ((since + retry - 1) / 1000) * rate) >= 1 do
      retry = retry - 1
    end
  end
  local left = have
  if allowed then left = tokens end
  remaining = floor(left)
  resetMs = ceil(((capacity - left) / rate) * 1000)
  if allowed then
    state = struct.pack('<Bdd', 98, tokens, updated)
    expiresAt = now + resetMs
  end
end
if expiresAt then
  -- %d: a whole number, through a C long (64 bits wherever Redis runs)
  redis.call('SET', key, state, 'PXAT', string.format('%d', ceil(expiresAt)))
elseif state then
  redis.call('SET', key, state, 'KEEPTTL')
end
local base = floor(a) + 1
if remaining < base and resetMs >= 0 and resetMs < 67108864 and resetMs == floor(resetMs)
  and retry >= 0 and retry == floor(retry) then
  -- Whole figures: if the true sum is below 2^53 every step is exact; if it is not, the
  -- rounded sum is not below 2^53 either (rounding keeps order), so the test is safe.
  local packed = (allowed and 1 or 0) + 2 * (remaining + base * (resetMs + 67108864 * retry))
  if packed < 9007199254740992 then return packed end
end
if resetMs ~= floor(resetMs) then resetMs = string.format('%.17g', resetMs) end
if retry ~= floor(retry) then retry = string.format('%.17g', retry) end
return {allowed and 1 or 0, remaining, resetMs, retry}
`

/** The script's SHA-1, computed once (Web Crypto: `src/` runs on every runtime). */
let sha: string | undefined
let hashing: Promise<void> | undefined

function hashScript(): Promise<void> {
  hashing ??= crypto.subtle.digest('SHA-1', new TextEncoder().encode(SCRIPT)).then((digest) => {
    sha = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('')
  })
  return hashing
}

/** The largest figure accepted: beyond it milliseconds stop being whole numbers. */
const MAX = Number.MAX_SAFE_INTEGER

/**
 * Refuses what the `rateLimit()` middleware refuses (a limit or capacity below 1, a window or
 * refill rate not above 0, NaN), and figures so large (∞ among them) that a key's lifetime in
 * milliseconds is no longer a whole number: there `applyRule`'s millisecond stepping can spin
 * for ever, which inside Redis would block the server, and the expiry would not fit.
 */
function checkRule(rule: RateLimitRule): void {
  if (rule.algorithm === 'sliding-window') {
    const { limit, windowMs } = rule
    if (!(limit >= 1 && limit <= MAX) || !(windowMs > 0 && 2 * windowMs <= MAX)) {
      throw new RangeError(
        `consumeQuota: limit must be from 1 to 2^53 and windowMs > 0 (at most 2^52), got ${limit} and ${windowMs}`
      )
    }
    return
  }
  if (rule.algorithm === 'token-bucket') {
    const { capacity, refillPerSecond } = rule
    if (
      !(capacity >= 1 && capacity <= MAX) ||
      !(refillPerSecond > 0 && refillPerSecond <= MAX && (capacity / refillPerSecond) * 1000 <= MAX)
    ) {
      throw new RangeError(
        `consumeQuota: capacity must be from 1 to 2^53 and refillPerSecond from 0 (excluded) to 2^53, with capacity / refillPerSecond at most 2^53 ms, got ${capacity} and ${refillPerSecond}`
      )
    }
    return
  }
  throw new RangeError(
    `consumeQuota: unknown algorithm ${String((rule as { algorithm?: unknown }).algorithm)}`
  )
}

/** 2^26: the base of `resetMs` in a packed reply (about 18.6 hours of milliseconds). */
const RESET_BASE = 67_108_864

/**
 * The script's packed reply (see SCRIPT) taken apart: whole numbers below 2^53, so that each
 * `%` and division is exact. `limit` is the rule's limit or capacity, whose `floor + 1` is
 * the base of `remaining`, as in the script (the same double: `String` round-trips it).
 */
function unpack(packed: number, limit: number): RateLimitResult {
  const allowed = packed % 2
  let rest = (packed - allowed) / 2
  const base = Math.floor(limit) + 1
  const remaining = rest % base
  rest = (rest - remaining) / base
  const resetMs = rest % RESET_BASE
  return {
    allowed: allowed === 1,
    limit,
    remaining,
    resetMs,
    retryAfterMs: (rest - resetMs) / RESET_BASE,
  }
}

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT')

/**
 * Runs the script by its SHA (EVALSHA), and by its text (EVAL, which also caches it) when
 * Redis does not know it: after a restart, a failover or `SCRIPT FLUSH`. A plain call rather
 * than ioredis's `defineCommand`, which would add a method to the caller's client.
 */
function runScript(client: RedisScriptClient, args: string[]): Promise<unknown> {
  if (sha === undefined) {
    // The first call sends the text itself, which loads the script, while the hash is
    // computed; it returns only once the hash is known, so every later call is an EVALSHA.
    return Promise.all([client.eval(SCRIPT, 1, ...args), hashScript()]).then(([reply]) => reply)
  }
  return client.evalsha(sha, 1, ...args).catch((error: unknown) => {
    if (!isNoScript(error)) throw error
    return client.eval(SCRIPT, 1, ...args)
  })
}

/**
 * Takes one request's worth of quota for `key`, counted in Redis exactly as `applyRule`
 * counts in memory (sliding window or token bucket), atomically and in one round trip: one
 * limit shared by every process using this Redis. The time is Redis's own clock. The key
 * holds a short string and expires by itself once it counts for nothing; the caller chooses
 * it, hash tag included (Redis Cluster).
 *
 * A key's state belongs to one rule: a key last counted under the other algorithm starts
 * afresh (`applyRule` has no such case: its stores keep the rules apart).
 *
 * @param now Test only: the time in milliseconds, instead of Redis's clock. The key's
 *   expiry follows it too, so a time behind Redis's drops the key at once.
 * @throws RangeError, before anything is sent, for a rule the middleware would refuse.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { consumeQuota } from 'edgeio/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL)
 * const rule = { algorithm: 'sliding-window', limit: 100, windowMs: 60_000 } as const
 * const result = await consumeQuota(redis, `{rate:${ip}}`, rule)
 * if (!result.allowed) return c.text('Too Many Requests', 429)
 * ```
 */
export function consumeQuota(
  client: RedisScriptClient,
  key: string,
  rule: RateLimitRule,
  now?: number
): Promise<RateLimitResult> {
  try {
    checkRule(rule)
    if (now !== undefined && !Number.isFinite(now)) {
      throw new RangeError(`consumeQuota: now must be a finite number, got ${now}`)
    }
  } catch (error) {
    return Promise.reject(error)
  }
  const sliding = rule.algorithm === 'sliding-window'
  const limit = sliding ? rule.limit : rule.capacity
  // `String` writes the shortest text that reads back as the same double (Lua's `tonumber`).
  const args = sliding
    ? [key, 'w', String(rule.limit), String(rule.windowMs)]
    : [key, 'b', String(rule.capacity), String(rule.refillPerSecond)]
  if (now !== undefined) args.push(String(now))
  return runScript(client, args).then((reply) => {
    if (typeof reply === 'number') return unpack(reply, limit)
    const [allowed, remaining, resetMs, retryAfterMs] = reply as (number | string)[]
    return {
      allowed: allowed === 1,
      limit,
      remaining: Number(remaining),
      resetMs: Number(resetMs),
      retryAfterMs: Number(retryAfterMs),
    }
  })
}
