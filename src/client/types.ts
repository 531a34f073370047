// The public shapes of the outbound client. Kept apart from the code so that the options a
// user writes read as one page (docs/client.md mirrors it).

/**
 * Concurrency caps, as aiohttp's `TCPConnector(limit, limit_per_host)`. A permit is held
 * for one attempt, from before it is sent until its response body has been read to the
 * end, cancelled or has failed (the connection is busy until then), so an unread body
 * keeps its permit: read it, or `await res.body?.cancel()`.
 */
export interface ClientLimitOptions {
  /** Attempts in flight across every host. Default 100 (aiohttp's `limit`). */
  total?: number
  /** Attempts in flight to one origin (scheme, host and port). Default unlimited. */
  perHost?: number
  /**
   * Calls that may wait for a permit at once; one more fails at once with
   * {@link ClientQueueFullError}. Default 1000. `0`: never wait, fail when full.
   */
  maxQueue?: number
}

/**
 * Time limits, as aiohttp's `ClientTimeout`. Each expiry aborts the underlying `fetch`
 * (its connection is closed, the upstream sees the disconnect) and fails the call with a
 * {@link ClientTimeoutError} saying which one it was.
 */
export interface ClientTimeoutOptions {
  /**
   * The whole call: queueing, every attempt, the waits between them and reading the
   * response body. Default none. A retry whose wait would pass it is not attempted.
   */
  total?: number
  /** One attempt, until its response headers arrive. Default none. Retried when it expires. */
  attempt?: number
}

/** When and how failed attempts are tried again. */
export interface ClientRetryOptions {
  /** Retries after the first attempt. Default 2 (3 attempts at most). `0`: none. */
  limit?: number
  /**
   * Methods retried. Default the idempotent ones: GET, HEAD, OPTIONS, PUT, DELETE, TRACE.
   * Any other method is retried only when the request carries an `Idempotency-Key` header.
   */
  methods?: readonly string[]
  /** Response statuses retried. Default 408, 429, 500, 502, 503, 504. */
  statusCodes?: readonly number[]
  /** First backoff ceiling, in ms; doubles per retry (full jitter below it). Default 100. */
  backoffMs?: number
  /** Largest backoff ceiling, in ms. Default 10_000. */
  maxBackoffMs?: number
  /**
   * Largest `Retry-After` honoured, in ms. A response asking for longer is returned as it
   * is, not retried. Default 60_000.
   */
  maxRetryAfterMs?: number
}

/**
 * A per-origin circuit breaker: after `failures` consecutive failed attempts the circuit
 * opens and calls fail at once with {@link CircuitOpenError} for `cooldownMs`; then one
 * probe is let through (half-open): its success closes the circuit, its failure opens it
 * again.
 */
export interface CircuitOptions {
  /** Consecutive failed attempts that open the circuit. Default 5. */
  failures?: number
  /** How long an open circuit refuses calls, in ms. Default 30_000. */
  cooldownMs?: number
  /**
   * Whether a response counts as a failure. Default: status 500 and above. Network errors
   * and attempt timeouts always count; aborts by the caller never do.
   */
  isFailure?: (response: Response) => boolean
}

/** What `client.circuit(origin)` shows. */
export interface CircuitSnapshot {
  state: 'closed' | 'open' | 'half-open'
  /** Consecutive failures counted so far. */
  failures: number
  /** While open: when (epoch ms) the next probe will be let through. */
  retryAt?: number
}

/** The `fetch` the client calls; inject one to use a pooled dispatcher (undici on Node). */
export type FetchFunction = (input: Request | string | URL, init?: RequestInit) => Promise<Response>

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Resolves relative inputs (`client.get('/users')`). */
  baseUrl?: string | URL
  /** Concurrency caps. Default `{ total: 100 }`. */
  limit?: ClientLimitOptions
  /** Time limits. Default none. */
  timeout?: ClientTimeoutOptions
  /** Retry policy; `false` turns retries off. Default `{ limit: 2 }` on idempotent calls. */
  retry?: ClientRetryOptions | false
  /** Per-origin circuit breaker; off unless given (`true` takes the defaults). */
  circuit?: CircuitOptions | boolean
  /** Headers sent with every call (a call's own headers win). */
  headers?: HeadersInit
  /**
   * Throw a {@link ClientResponseError} for a final response that is not `ok`, as
   * aiohttp's `raise_for_status`. Default false: responses are returned, as `fetch` does.
   */
  raiseForStatus?: boolean
  /**
   * The fetch to call. Default `globalThis.fetch`, looked up at each call. One with a
   * `close()` method (`nodeFetch()` from `edgeio/node`, a keep-alive pool of its own) is
   * closed when the client closes: give each client its own.
   */
  fetch?: FetchFunction
}

/**
 * One call's options: those of `fetch`, plus per-call overrides. `signal` and `deadline`
 * add to what the client is bound to (`client.for(c)`); they never loosen it.
 */
export interface CallInit extends RequestInit {
  /** A JSON body: serialised, with `Content-Type: application/json` unless one is set. */
  json?: unknown
  /** Per-call time limits (each field replaces the client's). */
  timeout?: ClientTimeoutOptions
  /** Per-call retry policy (fields replace the client's), or `false`. */
  retry?: ClientRetryOptions | false
  /** Absolute deadline (epoch ms, as `Date.now()`): no attempt starts or waits past it. */
  deadline?: number
  /** Overrides the client's `raiseForStatus`. */
  raiseForStatus?: boolean
}

/** What a call is bound to: a request's signal and deadline (see `client.for`). */
export interface CallScope {
  /** Aborts the call (and every call made through the bound client). */
  signal?: AbortSignal | undefined
  /** Absolute deadline (epoch ms). */
  deadline?: number | undefined
}

/** Options of `client.close()`. */
export interface ClientCloseOptions {
  /**
   * How long in-flight calls may take to finish (bodies read) before they are aborted with
   * {@link ClientClosedError}, in ms. Default 10_000; `0` aborts at once.
   */
  timeoutMs?: number
}
