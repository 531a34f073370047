import type { Context, MiddlewareHandler } from 'hono'
import { Event } from '../../sync/index.ts'

export interface CoalesceOptions {
  /**
   * Which requests are the same; `undefined` means "do not coalesce this one". Default:
   * method and URL plus the `Authorization` and `Cookie` headers, so that one user's
   * response never reaches another.
   */
  key?: (c: Context) => string | undefined
}

/** A response as plain data: in workerd a body cannot be read from another request. */
interface SharedResponse {
  status: number
  statusText: string
  headers: [string, string][]
  body: ArrayBuffer | null
}

/** One run of the handler and the callers waiting for it. */
interface Flight {
  readonly done: Event
  /** Callers still connected; when the last one leaves, the run is aborted. */
  callers: number
  /** Whether anyone joined the leader: if not, its response needs no copying. */
  followed: boolean
  readonly controller: AbortController
  result?: SharedResponse
  failed?: { error: unknown }
}

const defaultKey = (c: Context) =>
  `${c.req.method} ${c.req.url}\n${c.req.header('authorization') ?? ''}\n${c.req.header('cookie') ?? ''}`

function toResponse(shared: SharedResponse): Response {
  return new Response(shared.body === null ? null : shared.body.slice(0), {
    status: shared.status,
    statusText: shared.statusText,
    headers: shared.headers,
  })
}

/**
 * Single-flight for GET and HEAD: concurrent identical requests share one run of the
 * handler, and each caller gets its own copy of the response. A caller that disconnects
 * leaves without disturbing the others; the run itself is aborted (its `c.req.raw.signal`
 * fires) only once every caller has gone. An error reaches every caller.
 *
 * The shared body is buffered once (a stream is read to its end), because in workerd one
 * request cannot read another's body stream: coalesce routes whose answers are finite.
 *
 * @example
 * ```ts
 * app.get('/prices', coalesce(), async (c) => c.json(await fetchPrices(c.req.raw.signal)))
 * ```
 */
export function coalesce(options: CoalesceOptions = {}): MiddlewareHandler {
  const key = options.key ?? defaultKey
  const flights = new Map<string, Flight>()

  async function follow(c: Context, flight: Flight): Promise<Response> {
    flight.callers++
    flight.followed = true
    try {
      await flight.done.wait({ signal: c.req.raw.signal })
    } catch (error) {
      if (--flight.callers === 0) flight.controller.abort(error)
      throw error
    }
    if (flight.failed) throw flight.failed.error
    return toResponse(flight.result as SharedResponse)
  }

  async function lead(c: Context, next: () => Promise<void>, name: string): Promise<void> {
    const flight: Flight = {
      done: new Event(),
      callers: 1,
      followed: false,
      controller: new AbortController(),
    }
    flights.set(name, flight)
    const leaderSignal = c.req.raw.signal
    const onLeaderGone = () => {
      if (--flight.callers === 0) flight.controller.abort(leaderSignal.reason)
    }
    leaderSignal.addEventListener('abort', onLeaderGone, { once: true })
    // The run follows every caller, not only the one that happened to start it.
    c.req.raw = new Request(c.req.raw, { signal: flight.controller.signal })
    try {
      await next()
      // Nobody joined (the usual case): the response goes out as it is, unbuffered.
      if (!flight.followed) return
      const res = c.res
      flight.result = {
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers],
        body: res.body === null ? null : await res.arrayBuffer(),
      }
    } catch (error) {
      flight.failed = { error }
      throw error
    } finally {
      flights.delete(name)
      leaderSignal.removeEventListener('abort', onLeaderGone)
      flight.done.set()
    }
    if (!flight.result) return
    c.res = undefined // the buffered copy replaces the consumed original, headers and all
    c.res = toResponse(flight.result)
  }

  return async function coalesce(c, next) {
    const name = c.req.method === 'GET' || c.req.method === 'HEAD' ? key(c) : undefined
    if (name === undefined) return next()
    const flight = flights.get(name)
    if (flight) return follow(c, flight)
    const run = lead(c, next, name)
    // On Workers the run must outlive the leader's own request if that one is cancelled.
    try {
      c.executionCtx.waitUntil(run.catch(() => {}))
    } catch {
      // no execution context (app.request in tests): nothing to extend
    }
    await run
  }
}
