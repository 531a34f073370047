import type { Context, MiddlewareHandler } from 'hono'
import { type ClientAddressOptions, clientAddress } from '../../client-address.ts'
import type { RateLimitResult, RateLimitRule, RateLimitStore } from '../../quota/index.ts'
import { decided, instrumentation } from '../../telemetry/instrumentation.ts'
import { ATTR_RATE_LIMIT_OUTCOME, METRIC_RATE_LIMIT_DECISIONS } from '../../telemetry/names.ts'
import { MemoryStore } from './memory-store.ts'

// Decision attributes, shared by every call (the metric's and the request span's).
const ALLOWED = { [ATTR_RATE_LIMIT_OUTCOME]: 'allowed' } as const
const LIMITED = { [ATTR_RATE_LIMIT_OUTCOME]: 'limited' } as const

export type { RateLimitResult, RateLimitRule, RateLimitStore } from '../../quota/index.ts'
export { MemoryStore, type MemoryStoreOptions } from './memory-store.ts'

/** A sliding window: `limit` requests per `windowMs`. */
export interface SlidingWindowOptions {
  limit: number
  windowMs: number
}

/** A token bucket: bursts of up to `tokens`, refilled at `refillPerSecond`. */
export interface TokenBucketOptions {
  tokens: number
  refillPerSecond: number
}

export type RateLimitOptions = (SlidingWindowOptions | TokenBucketOptions) &
  ClientAddressOptions & {
    /**
     * Who is being limited. Default: the client's IP address (see `clientAddress`);
     * requests whose address the runtime does not give share the key `unknown`.
     */
    key?: (c: Context) => string | undefined | Promise<string | undefined>
    /**
     * Where quotas live. Default: a `MemoryStore` of this process / isolate. Pass a function
     * to pick the store per request (a Durable Object store over a binding from `c.env`).
     */
    store?: RateLimitStore | ((c: Context) => RateLimitStore)
    /** The refusal. Default: `429` with a JSON body. The rate-limit headers are added to it. */
    onLimited?: (c: Context, result: RateLimitResult) => Response | Promise<Response>
  }

function toRule(options: SlidingWindowOptions | TokenBucketOptions): RateLimitRule {
  if ('windowMs' in options) {
    if (!(options.limit >= 1) || !(options.windowMs > 0)) {
      throw new RangeError('rateLimit: limit must be ≥ 1 and windowMs > 0')
    }
    return { algorithm: 'sliding-window', limit: options.limit, windowMs: options.windowMs }
  }
  if (!(options.tokens >= 1) || !(options.refillPerSecond > 0)) {
    throw new RangeError('rateLimit: tokens must be ≥ 1 and refillPerSecond > 0')
  }
  return {
    algorithm: 'token-bucket',
    capacity: options.tokens,
    refillPerSecond: options.refillPerSecond,
  }
}

/**
 * Sets the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), in seconds.
 * The limit's text is cached: it is the same for every request of a rule. `reset` is when
 * the quota is whole again, except on a refusal, where the draft wants it to name the same
 * moment as `Retry-After`: a sliding window's quota comes back at the window's end, but the
 * previous window's weight can hold the next request off for longer, and a token bucket
 * lets one through long before it is full.
 */
function setRateLimitHeaders(
  headers: Headers,
  result: RateLimitResult,
  limit: string,
  reset: number
): void {
  headers.set('RateLimit-Limit', limit)
  headers.set('RateLimit-Remaining', String(result.remaining))
  headers.set('RateLimit-Reset', String(reset))
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function'

/**
 * Limits requests per client with a sliding window or a token bucket. Refused requests get
 * `429` with `Retry-After` (the seconds until a request would pass); every response carries
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, which on a `429` is the
 * same wait as `Retry-After`.
 *
 * @example
 * ```ts
 * app.use('/api/*', rateLimit({ limit: 100, windowMs: 60_000 }))
 * app.post('/login', rateLimit({ tokens: 5, refillPerSecond: 0.1 }), login)
 * // one limit across every isolate, counted by a Durable Object
 * app.use('/search', rateLimit({ limit: 10, windowMs: 1000, store: (c) => new DistributedRateLimitStore(c.env.COORDINATOR) }))
 * ```
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler {
  const rule = toRule(options)
  const store = options.store ?? new MemoryStore()
  const storeFor = typeof store === 'function' ? store : () => store
  const key = options.key ?? ((c: Context) => clientAddress(c, options))
  const onLimited =
    options.onLimited ?? ((c: Context) => c.json({ error: 'Too Many Requests' }, 429))

  let limitNumber = Number.NaN
  let limitText = ''
  // Each `await` on a value that is not a promise still costs a turn of the microtask
  // queue: the default key and the memory store answer synchronously, so they are not
  // awaited.
  return async function rateLimit(c, next) {
    let name = key(c)
    if (isPromise(name)) name = await name
    let result = storeFor(c).consume(name ?? 'unknown', rule)
    if (isPromise(result)) result = await result
    if (result.limit !== limitNumber) {
      limitNumber = result.limit
      limitText = String(limitNumber)
    }
    if (instrumentation !== undefined) {
      decided(instrumentation, METRIC_RATE_LIMIT_DECISIONS, result.allowed ? ALLOWED : LIMITED)
    }
    if (!result.allowed) {
      const refused = await onLimited(c, result)
      const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000))
      refused.headers.set('Retry-After', String(retryAfter))
      setRateLimitHeaders(refused.headers, result, limitText, retryAfter)
      return refused
    }
    await next()
    setRateLimitHeaders(c.res.headers, result, limitText, Math.ceil(result.resetMs / 1000))
  }
}
