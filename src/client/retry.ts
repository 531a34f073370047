import type { ClientRetryOptions } from './types.ts'

// The retry policy as plain functions of the request and the last outcome, so the call loop
// (client.ts) reads as: attempt, decide, wait, attempt. None of the fetch wrappers on npm
// lets a retry be refused because its wait would pass the caller's deadline, or retries a
// POST because it carries an Idempotency-Key, without re-deciding everything in a hook.

/** A retry policy with every default filled in. */
export interface RetryPolicy {
  readonly limit: number
  readonly methods: ReadonlySet<string>
  readonly statusCodes: ReadonlySet<number>
  readonly backoffMs: number
  readonly maxBackoffMs: number
  readonly maxRetryAfterMs: number
}

const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
const STATUSES = [408, 429, 500, 502, 503, 504]

/** No retries at all (`retry: false`). */
export const NO_RETRY: RetryPolicy = policy({ limit: 0 })

/** Fills in the defaults of `options`. */
export function policy(options: ClientRetryOptions = {}): RetryPolicy {
  const limit = options.limit ?? 2
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError('retry.limit must be an integer >= 0')
  }
  return {
    limit,
    methods: new Set((options.methods ?? IDEMPOTENT).map((m) => m.toUpperCase())),
    statusCodes: new Set(options.statusCodes ?? STATUSES),
    backoffMs: options.backoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 10_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  }
}

/** A call's policy: the client's, with the call's fields replacing its own. */
export function merge(
  base: RetryPolicy,
  baseOptions: ClientRetryOptions | false | undefined,
  call: ClientRetryOptions | false | undefined
): RetryPolicy {
  if (call === undefined) return base
  if (call === false) return NO_RETRY
  return policy({ ...(baseOptions || {}), ...call })
}

/**
 * Whether the request may be sent more than once: its method is in the policy, or it
 * carries an `Idempotency-Key` (the IETF draft's header, which makes a POST safe to repeat
 * for servers that honour it).
 */
export function mayRetry(
  method: string,
  headers: HeadersInit | undefined,
  p: RetryPolicy
): boolean {
  if (p.limit === 0) return false
  // The headers are looked at only for a method outside the policy (a POST).
  return p.methods.has(method) || new Headers(headers).has('idempotency-key')
}

/**
 * Whether `body` can be sent again as it is. Streams cannot (they are consumed by the first
 * attempt); strings, buffers, blobs, form data and search params can.
 */
export function isReplayable(body: BodyInit | null | undefined): boolean {
  return !(body instanceof ReadableStream || isAsyncIterable(body))
}

function isAsyncIterable(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  )
}

/**
 * The wait before retry number `retry` (1-based): exponential backoff with full jitter
 * (uniform in [0, min(max, base·2^(retry-1)))), which spreads a burst of failing callers
 * best (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export function backoff(retry: number, p: RetryPolicy, random: () => number = Math.random): number {
  return random() * Math.min(p.maxBackoffMs, p.backoffMs * 2 ** (retry - 1))
}

/**
 * The wait a `Retry-After` header asks for, in ms: delta-seconds or an HTTP date.
 * `undefined` when absent or malformed (the backoff applies then).
 *
 * @example
 * ```ts
 * retryAfterMs(new Headers({ 'retry-after': '1' })) // 1000
 * ```
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim()
  if (value === undefined || value === '') return undefined
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
