import type { MiddlewareHandler } from 'hono'
import { TimeoutError } from '../../tasks/timeout-error.ts'
import { decided, instrumentation } from '../../telemetry/instrumentation.ts'
import { ATTR_DEADLINE_EXPIRED, METRIC_DEADLINE_EXPIRED } from '../../telemetry/names.ts'
import { armedDeadlines } from './armed.ts'

const EXPIRED_ATTRIBUTES = { [ATTR_DEADLINE_EXPIRED]: true } as const

/** What `deadline()` puts on the context (typed through its middleware type). */
export interface DeadlineVariables {
  /**
   * Aborts when the client disconnects (with the runtime's reason) or the request's deadline
   * passes (with a `TimeoutError`, the same one `timeout()` rejects with). Pass it to
   * `fetch`, to every primitive and to `TaskGroup`, so that work stops with the request.
   */
  signal: AbortSignal
  /**
   * When the deadline passes (epoch milliseconds), so that work which waits before acting
   * (a retry's back-off, `createClient`'s `client.for(c)`) can refuse at once what would
   * end past it, rather than wait for the abort.
   */
  deadlineAt: number
}

export interface DeadlineOptions {
  /** Time the handler gets, in milliseconds. */
  ms: number
  /**
   * The response at the deadline. Default: `504` with a JSON body and no other header.
   * A response made with `c.text()`/`c.json()` also carries headers the handler set.
   */
  onTimeout?: (c: Parameters<MiddlewareHandler>[0]) => Response | Promise<Response>
}

const EXPIRED = 0
const HANDLED = 1
/** How the race between the handler and the timer ended. */
type Outcome = typeof EXPIRED | typeof HANDLED | { error: unknown }
/** Microtask turns a handler gets, after the abort, to answer before the 504 replaces it. */
const WIND_DOWN_TURNS = 32

async function microtaskTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await null
}

/**
 * A cancelling timeout. Unlike a timer raced against the handler, it aborts the work:
 * the handler reads `c.get('signal')` — the client's disconnect and the deadline in one
 * signal — and passes it on. At the deadline the client gets `504` even when the handler
 * catches the abort and answers at once: the deadline's response replaces whatever the
 * handler set. A handler that ignores the signal is not waited for. Nested (one on the app,
 * another on a route), the earlier deadline wins: the inner signal follows the outer one,
 * and `deadlineAt` is the earlier of the two.
 *
 * @example
 * ```ts
 * app.get('/report', deadline({ ms: 2_000 }), async (c) => {
 *   const res = await fetch(upstream, { signal: c.get('signal') })
 *   return c.json(await res.json())
 * })
 * ```
 */
export function deadline(
  options: DeadlineOptions
): MiddlewareHandler<{ Variables: DeadlineVariables }> {
  const { ms } = options
  if (!(ms > 0) || !Number.isFinite(ms))
    throw new RangeError('deadline: ms must be a positive number')
  // Built without the context's helpers: headers the handler prepared (caching ones, say)
  // must not ride on the 504.
  const onTimeout =
    options.onTimeout ??
    (() =>
      Response.json({ error: `Gateway Timeout: no response within ${ms} ms` }, { status: 504 }))

  return async function deadline(c, next) {
    // One controller for both causes (a listener on the client's signal costs about a
    // tenth of `AbortSignal.any`, which Node builds with weak references per call).
    // The listener is never removed: a streamed body still stops when the client leaves
    // after this middleware returned, and the listener dies with the request.
    const controller = new AbortController()
    // Nested in another deadline() (one on the app, one on a route), follow the outer one's
    // signal, which follows the client: an inner deadline never outlives the outer one.
    const outerAt = c.get('deadlineAt')
    const parent = c.get('signal') ?? c.req.raw.signal
    if (parent.aborted) controller.abort(parent.reason)
    else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true })
    c.set('signal', controller.signal)
    const at = Date.now() + ms
    c.set('deadlineAt', outerAt !== undefined && outerAt < at ? outerAt : at)
    armedDeadlines.add(controller.signal) // until the race below is decided (see armed.ts)
    // One promise settled by whichever comes first, the handler or the timer (no race of
    // two promises); later settlements are ignored.
    let settle!: (outcome: Outcome) => void
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve
    })
    const timer = setTimeout(() => {
      controller.abort(new TimeoutError(`The deadline of ${ms} ms passed.`))
      settle(EXPIRED)
    }, ms)
    // The handler may settle after the deadline answered; its outcome is then ignored.
    const handled = next().then(
      () => settle(HANDLED),
      (error: unknown) => settle({ error })
    )
    let result: Outcome
    try {
      result = await outcome
    } finally {
      clearTimeout(timer)
      armedDeadlines.delete(controller.signal)
    }
    if (result === HANDLED) return
    if (result !== EXPIRED) throw result.error // failed in time
    if (instrumentation !== undefined) {
      decided(instrumentation, METRIC_DEADLINE_EXPIRED, {}, EXPIRED_ATTRIBUTES)
    }
    // A handler that stops at the abort and answers at once (onError included) does so within
    // a few microtask turns: let it finish first, so that the 504 replaces its answer rather
    // than the other way round. A timer would not do: fake timers in tests never fire it.
    await Promise.race([handled, microtaskTurns(WIND_DOWN_TURNS)])
    const replaced = c.res
    c.res = undefined // so the deadline's response inherits no header of the handler's
    c.res = await onTimeout(c)
    await replaced.body?.cancel().catch(() => {})
  }
}
