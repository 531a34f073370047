import type { Context, MiddlewareHandler } from 'hono'
import { findServerScope } from '../../runtime/server-scope.ts'
import { Event } from '../../sync/index.ts'
import { decided, instrumentation } from '../../telemetry/instrumentation.ts'
import { ATTR_COALESCE_ROLE, METRIC_COALESCE_HITS } from '../../telemetry/names.ts'

const FOLLOWER = { [ATTR_COALESCE_ROLE]: 'follower' } as const

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
  /** The leader's own request, as the runtime gave it. */
  readonly leader: Request
  /** Set once the run is over; created by the first follower (most runs have none). */
  done?: Event
  /** Callers still connected, once counted (see `track`); at 0 the run is aborted. */
  callers: number
  /** Whether anyone joined the leader: if not, its response needs no copying. */
  followed: boolean
  /** Whether the callers are counted: from the first follower or the first read of the copy. */
  tracked: boolean
  /** The run's own signal, behind the request copy the handler reads; made with the copy. */
  controller?: AbortController
  /** What the handler reads as `c.req.raw` (see `lazyCopy`). */
  copy?: Request
  /** Why the last caller left, when that happened before the copy was made. */
  gone?: { reason: unknown }
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

/** The last caller left: abort the run (now, or as soon as its signal exists). */
function abandon(flight: Flight, reason: unknown): void {
  if (flight.controller) flight.controller.abort(reason)
  else flight.gone = { reason }
}

/**
 * Starts counting the callers, the leader first. Until then the leader's disconnect is
 * not watched (a listener per request is a cost): nothing could observe it, as no
 * follower depends on the run and the handler has not read the run's signal.
 */
function track(flight: Flight): void {
  if (flight.tracked) return
  flight.tracked = true
  const leader = flight.leader.signal
  if (leader.aborted) {
    if (--flight.callers === 0) abandon(flight, leader.reason)
    return
  }
  leader.addEventListener(
    'abort',
    () => {
      if (--flight.callers === 0) abandon(flight, leader.reason)
    },
    { once: true }
  )
}

/** Where a leader's `HonoRequest` keeps its flight, for the shared `raw` accessor below. */
const FLIGHT = Symbol('coalesce.flight')
type LeaderRequest = Context['req'] & { [FLIGHT]: Flight }

/**
 * Replaces the leader's `c.req.raw`. The run follows every caller, not only the one that
 * happened to start it: the handler sees a copy of the request whose signal is the run's.
 * Copying a request is the costliest step of coalescing (on Node it builds two undici
 * Requests), so it happens on the first read only; a handler that never reads `c.req.raw`
 * never pays. One descriptor for every request: V8 then reuses the object shape, where a
 * fresh getter per request costs microseconds.
 */
const lazyCopy: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: LeaderRequest): Request {
    const flight = this[FLIGHT]
    if (flight.copy === undefined) {
      const controller = new AbortController()
      flight.controller = controller
      if (flight.gone) controller.abort(flight.gone.reason)
      flight.copy = new Request(flight.leader, { signal: controller.signal })
      track(flight)
    }
    return flight.copy
  },
  set(this: LeaderRequest, request: Request) {
    this[FLIGHT].copy = request
  },
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
    if (instrumentation !== undefined) {
      decided(instrumentation, METRIC_COALESCE_HITS, {}, FOLLOWER)
    }
    track(flight)
    flight.callers++
    flight.followed = true
    flight.done ??= new Event()
    try {
      await flight.done.wait({ signal: c.req.raw.signal })
    } catch (error) {
      if (--flight.callers === 0) abandon(flight, error)
      throw error
    }
    if (flight.failed) throw flight.failed.error
    return toResponse(flight.result as SharedResponse)
  }

  async function lead(
    c: Context,
    next: () => Promise<void>,
    name: string,
    flight: Flight
  ): Promise<void> {
    const req = c.req as LeaderRequest
    req[FLIGHT] = flight
    Object.defineProperty(req, 'raw', lazyCopy)
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
      flight.done?.set()
    }
    if (!flight.result) return
    c.res = undefined // the buffered copy replaces the consumed original, headers and all
    c.res = toResponse(flight.result)
  }

  return function coalesce(c, next) {
    const name = c.req.method === 'GET' || c.req.method === 'HEAD' ? key(c) : undefined
    if (name === undefined) return next()
    const running = flights.get(name)
    if (running) return follow(c, running)
    const flight: Flight = { leader: c.req.raw, callers: 1, followed: false, tracked: false }
    flights.set(name, flight)
    const run = lead(c, next, name, flight)
    // On Workers the run must outlive the leader's own request if that one is cancelled.
    // Where work runs on after its request (Node, Deno, Bun), no request is cancelled and
    // the leader awaits the run anyway: nothing to extend.
    if (findServerScope(c)?.runtime.cutsWorkAfterResponse !== false) {
      let ctx: Context['executionCtx'] | undefined
      try {
        ctx = c.executionCtx
      } catch {
        // no execution context (app.request in tests): nothing to extend
      }
      ctx?.waitUntil(run.catch(() => {}))
    }
    return run
  }
}
