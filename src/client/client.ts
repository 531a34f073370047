import type { Context } from 'hono'
import { ClientCore } from './core.ts'
import { send } from './send.ts'
import type {
  CallInit,
  CallScope,
  CircuitSnapshot,
  ClientCloseOptions,
  ClientOptions,
} from './types.ts'

// Two faces over one ClientCore: the Client a module creates once, and the views it hands
// out per request (`client.for(c)`), which share its limits and circuits and add the
// request's signal and deadline to each call. No ambient context: src/ runs where
// AsyncLocalStorage does not, so the request is passed explicitly, as Hono passes `c`.

type Input = Request | string | URL

/** What `client.for(c)` reads from a Hono context, when the middleware that sets it ran. */
interface ScopeVariables {
  /** Set by `deadline()`: the client's disconnect and the deadline in one signal. */
  signal?: AbortSignal
  /** An absolute deadline (epoch ms), when a middleware publishes one. */
  deadlineAt?: number
}

/** The calls a client and its bound views offer: `fetch` plus conveniences. */
export abstract class HttpCalls {
  /**
   * `fetch`, through the client's limits, timeouts, retries and circuits. Resolves with the
   * response (any status, unless `raiseForStatus`); its permit is held until the body is
   * read, cancelled or fails.
   *
   * @example
   * ```ts
   * const res = await client.fetch('https://api.example.com/items', { method: 'GET' })
   * ```
   */
  abstract fetch(input: Input, init?: CallInit): Promise<Response>

  /**
   * A GET.
   *
   * @example
   * ```ts
   * const res = await client.get('/items')
   * ```
   */
  get(input: Input, init?: CallInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'GET' })
  }

  /**
   * A POST (not retried unless it carries an `Idempotency-Key`).
   *
   * @example
   * ```ts
   * await client.post('/orders', { json: order, headers: { 'idempotency-key': id } })
   * ```
   */
  post(input: Input, init?: CallInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'POST' })
  }

  /**
   * A PUT.
   *
   * @example
   * ```ts
   * await client.put('/items/1', { json: item })
   * ```
   */
  put(input: Input, init?: CallInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'PUT' })
  }

  /**
   * A PATCH (not retried unless it carries an `Idempotency-Key`).
   *
   * @example
   * ```ts
   * await client.patch('/items/1', { json: { name: 'x' } })
   * ```
   */
  patch(input: Input, init?: CallInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'PATCH' })
  }

  /**
   * A DELETE.
   *
   * @example
   * ```ts
   * await client.delete('/items/1')
   * ```
   */
  delete(input: Input, init?: CallInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'DELETE' })
  }

  /**
   * Calls and parses a JSON answer; a status that is not `ok` throws
   * `ClientResponseError` (whatever `raiseForStatus` says).
   *
   * @example
   * ```ts
   * const user = await client.json<User>('/users/1')
   * const created = await client.json<User>('/users', { method: 'POST', json: draft })
   * ```
   */
  async json<T = unknown>(input: Input, init?: CallInit): Promise<T> {
    // A Request's own headers count when the call gives none (fetch would drop them).
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : {}))
    if (!headers.has('accept')) headers.set('accept', 'application/json')
    const res = await this.fetch(input, { ...init, headers, raiseForStatus: true })
    return (await res.json()) as T
  }
}

/**
 * An outbound HTTP client, as aiohttp's `ClientSession`: concurrency caps per origin,
 * timeouts, safe retries, optional circuit breaking, and a close that drains. Create one per
 * service (module level), bind it to a request with `client.for(c)`, close it with the
 * service (`client.closeOn(service)`).
 *
 * @example
 * ```ts
 * const http = createClient({ limit: { perHost: 4 }, timeout: { total: 5_000 } })
 * app.get('/a', deadline({ ms: 2_000 }), async (c) => {
 *   const res = await http.for(c).get('https://upstream.example/a')
 *   return c.json(await res.json())
 * })
 * ```
 */
export class Client extends HttpCalls {
  readonly #core: ClientCore

  constructor(options: ClientOptions = {}) {
    super()
    this.#core = new ClientCore(options)
  }

  fetch(input: Input, init?: CallInit): Promise<Response> {
    return send(this.#core, input, init, undefined)
  }

  /**
   * A view of this client bound to a request: every call through it also stops when the
   * request's signal aborts (`deadline()`'s signal, else the client's disconnect) and does
   * not wait or retry past the request's deadline. Limits and circuits are the client's.
   * Work that must outlive the request (`waitUntil`) uses the client itself instead.
   * Given a `CallScope` instead of a context, binds to that signal and deadline.
   *
   * @example
   * ```ts
   * app.get('/fan-out', deadline({ ms: 1_000 }), async (c) => {
   *   const http = client.for(c)
   *   const parts = await Promise.all(ids.map((id) => http.json(`/items/${id}`)))
   *   return c.json(parts)
   * })
   * ```
   */
  for(c: Context | CallScope): BoundClient {
    if (isContext(c)) {
      const ctx = c as unknown as Context<{ Variables: ScopeVariables }>
      // Read at each call, not now: a middleware registered after this view was made (or a
      // view made before deadline() ran) still counts.
      return new BoundClient(this.#core, () => ({
        signal: ctx.get('signal') ?? ctx.req.raw.signal,
        deadline: ctx.get('deadlineAt'),
      }))
    }
    const scope: CallScope = { signal: c.signal, deadline: c.deadline }
    return new BoundClient(this.#core, () => scope)
  }

  /**
   * The circuit of an origin (`'https://api.example.com'` or any URL on it).
   *
   * @example
   * ```ts
   * if (client.circuit('https://api.example.com').state === 'open') return c.text('degraded', 503)
   * ```
   */
  circuit(origin: string | URL): CircuitSnapshot {
    const key = new URL(origin, this.#core.baseUrl).origin
    return this.#core.breakers?.snapshot(key) ?? { state: 'closed', failures: 0 }
  }

  /** Calls in flight (response bodies not yet done included). */
  get inFlight(): number {
    return this.#core.active.size
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#core.closed
  }

  /**
   * Refuses new calls (`ClientClosedError`), waits up to `timeoutMs` for the calls in
   * flight to finish, then aborts the rest with `ClientClosedError`.
   *
   * @example
   * ```ts
   * await client.close({ timeoutMs: 5_000 })
   * ```
   */
  close(options?: ClientCloseOptions): Promise<void> {
    return this.#core.close(options)
  }

  /**
   * Closes this client at the service's cleanup (after incoming requests have drained, so
   * what is left is detached work), as aiohttp closes a session in `cleanup_ctx`.
   *
   * @example
   * ```ts
   * export const http = createClient({ limit: { perHost: 8 } }).closeOn(service)
   * ```
   */
  closeOn(service: CleanupRegistry, options?: ClientCloseOptions): this {
    service.onCleanup(() => this.close(options))
    return this
  }
}

/** Anything with cleanup hooks: a `Service`. */
export interface CleanupRegistry {
  onCleanup(hook: () => Promise<void>): unknown
}

/** A client bound to a request's signal and deadline (see `Client.for`). */
export class BoundClient extends HttpCalls {
  readonly #core: ClientCore
  readonly #scope: () => CallScope

  constructor(core: ClientCore, scope: () => CallScope) {
    super()
    this.#core = core
    this.#scope = scope
  }

  fetch(input: Input, init?: CallInit): Promise<Response> {
    return send(this.#core, input, init, this.#scope())
  }
}

function isContext(c: Context | CallScope): c is Context {
  return typeof (c as { get?: unknown }).get === 'function' && 'req' in c
}

/**
 * Creates an outbound HTTP client (see {@link Client}).
 *
 * @example
 * ```ts
 * const http = createClient({
 *   baseUrl: 'https://api.example.com',
 *   limit: { total: 100, perHost: 8, maxQueue: 200 },
 *   timeout: { total: 10_000, attempt: 3_000 },
 *   retry: { limit: 2, maxRetryAfterMs: 5_000 },
 *   circuit: { failures: 5, cooldownMs: 30_000 },
 * })
 * ```
 */
export function createClient(options: ClientOptions = {}): Client {
  return new Client(options)
}
