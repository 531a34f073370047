/**
 * Outbound calls through one `createClient()` (docs/client.md), the same on every runtime:
 * the upstream at `UPSTREAM_URL` (the conformance suite starts a slow local one) is called
 * under a per-host cap, with retries that are safe to make, within the caller's deadline,
 * and never after the caller has gone.
 */
import type { Context, Env } from 'hono'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  CircuitOpenError,
  ClientQueueFullError,
  ClientTimeoutError,
  createClient,
  deadline,
  errorHandler,
  type Service,
} from '../src/index.ts'

/** The binding these routes read. */
export interface ClientBindings {
  /** The upstream's origin (`http://127.0.0.1:8081`); unset, the routes answer 503. */
  UPSTREAM_URL?: string
}

type ClientEnv = { Bindings: ClientBindings }

/** `?name=` as an integer in [min, max], else `fallback`. */
function intQuery(c: Context, name: string, fallback: number, min: number, max: number): number {
  const value = Number(c.req.query(name) ?? fallback)
  return Number.isInteger(value) ? Math.min(Math.max(value, min), max) : fallback
}

/** A path on the upstream, carrying the caller's `?key=` (how the tests tell calls apart). */
function upstream(c: Context, path: string, query: Record<string, string> = {}) {
  const base = (c.env as ClientBindings | undefined)?.UPSTREAM_URL
  if (!base) throw new HTTPException(503, { message: 'No upstream configured (UPSTREAM_URL)' })
  const url = new URL(path, base)
  for (const [name, value] of Object.entries({ ...query, key: c.req.query('key') ?? '' })) {
    url.searchParams.set(name, value)
  }
  return url.href
}

/**
 * The `/client` routes, with their one client: created once (module level in the app, as
 * aiohttp's session), shared by every request (on Workers, by the requests of an isolate),
 * closed with the service.
 *
 * @example
 * ```ts
 * app.route('/client', clientRoutes(service))
 * ```
 */
export function clientRoutes<E extends Env>(service: Service<E>): Hono<ClientEnv> {
  const http = createClient({
    // Four calls at a time to one upstream, whichever requests make them: one slow partner
    // cannot take every connection (a Worker's request may hold only six).
    limit: { perHost: 4 },
    // No call outlives 10 s, even one a route forgot to bind to its request.
    timeout: { total: 10_000 },
  }).closeOn(service)
  const routes = new Hono<ClientEnv>()

  // The client's own failures, answered as what they mean; anything else as the app does.
  routes.onError((error, c) => {
    if (error instanceof ClientTimeoutError) {
      // Which limit: 'total', 'attempt', or 'deadline' (a retry that could not finish in time).
      return c.json({ error: 'Gateway Timeout', limit: error.kind }, 504)
    }
    if (error instanceof ClientQueueFullError || error instanceof CircuitOpenError) {
      return c.json({ error: `Service Unavailable: ${error.message}` }, 503, { 'Retry-After': '1' })
    }
    return errorHandler(error, c)
  })

  /**
   * `n` concurrent calls to the slow upstream (`ms` each), four at a time: however many
   * requests fan out at once, the upstream never sees more than four of them in flight.
   */
  routes.get('/fanout', async (c) => {
    const n = intQuery(c, 'n', 10, 1, 50)
    const ms = intQuery(c, 'ms', 50, 0, 5_000)
    // Bound to the request: a client that leaves stops its calls, queued ones included.
    const api = http.for(c)
    const url = upstream(c, '/slow', { ms: String(ms) })
    const bodies = await Promise.all(
      Array.from({ length: n }, async () => (await api.get(url)).text())
    )
    return c.json({ n, answered: bodies.filter((body) => body === 'ok').length })
  })

  /** A GET the upstream first answers 503 with `Retry-After: 1`: retried a second later. */
  routes.get('/retry', async (c) => {
    const res = await http.for(c).get(upstream(c, '/status', { code: '503', retryAfter: '1' }))
    return c.json({ status: res.status, body: await res.text() })
  })

  /** The same answer to a POST: sent once, since the upstream may have acted on it. */
  routes.post('/order', async (c) => {
    const res = await http.for(c).post(upstream(c, '/status', { code: '503', retryAfter: '0' }), {
      json: { item: 'book' },
    })
    return c.json({ status: res.status, body: await res.text() })
  })

  /**
   * The 503 again, under a 2 s deadline, with `Retry-After: 3`: the retry would land past
   * the deadline, so it is not attempted and the call fails at once with the deadline's
   * error (504) instead of waiting for the deadline to pass: deadline() publishes its end
   * (`deadlineAt`), which `client.for(c)` reads.
   */
  const DEADLINE_MS = 2_000
  routes.get('/deadline', deadline({ ms: DEADLINE_MS }), async (c) => {
    const res = await http.for(c).get(upstream(c, '/status', { code: '503', retryAfter: '3' }))
    return c.json({ status: res.status, body: await res.text() })
  })

  /** A call to an upstream slower than its 300 ms total timeout: aborted, its socket closed. */
  routes.get('/timeout', async (c) => {
    const res = await http.for(c).get(upstream(c, '/slow', { ms: '30000' }), {
      timeout: { total: 300 },
    })
    return c.text(await res.text())
  })

  /**
   * A long call (`ms`, 30 s by default) for a client that leaves first: bound to the
   * request, the call is aborted with it and the upstream sees its connection close.
   */
  routes.get('/hold', async (c) => {
    const ms = intQuery(c, 'ms', 30_000, 0, 60_000)
    const res = await http.for(c).get(upstream(c, '/slow', { ms: String(ms) }), {
      timeout: { total: ms + 5_000 },
    })
    return c.text(await res.text())
  })

  return routes
}
