import type { Context, MiddlewareHandler } from 'hono'
import { Semaphore } from '../../sync/index.ts'
import { type Attributes, decided, instrumentation } from '../../telemetry/instrumentation.ts'
import {
  ATTR_CONCURRENCY_LIMIT_OUTCOME,
  ATTR_CONCURRENCY_LIMIT_REASON,
  ATTR_NAME,
  METRIC_CONCURRENCY_LIMIT_QUEUED,
  METRIC_CONCURRENCY_LIMIT_SHED,
} from '../../telemetry/names.ts'

const QUEUED = { [ATTR_CONCURRENCY_LIMIT_OUTCOME]: 'queued' } as const

export interface ConcurrencyLimitOptions {
  /** Handlers running at once, at most. */
  max: number
  /** Requests waiting for a slot, at most; the next ones get 503 at once. Default: no limit. */
  maxWaiting?: number
  /** How long a request may wait for a slot (ms) before it gets 503. Default: no limit. */
  waitTimeout?: number
  /** `Retry-After` of the 503, in seconds. Default 1. */
  retryAfter?: number
  /** The refusal. Default: `503` with a JSON body; `Retry-After` is added to it. */
  onRejected?: (c: Context, reason: 'busy' | 'timeout') => Response | Promise<Response>
  /**
   * Names this limit in telemetry: the `edgeio.name` attribute of its metrics and the name
   * of its wait spans (`concurrencyLimit.wait <name>`). Default: none.
   */
  name?: string
}

/**
 * At most `max` handlers run at once (a `Semaphore`); up to `maxWaiting` more wait in FIFO
 * order, and the rest are refused at once with `503` and `Retry-After`, so an overloaded
 * service sheds load instead of queueing without bound. A waiter whose client disconnects
 * leaves the line at once. The limit is per process (per isolate on Workers).
 *
 * @example
 * ```ts
 * app.use('/render/*', concurrencyLimit({ max: 4, maxWaiting: 100, waitTimeout: 5_000 }))
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): MiddlewareHandler {
  const { max, maxWaiting = Number.POSITIVE_INFINITY, waitTimeout, retryAfter = 1 } = options
  if (!(Number.isInteger(max) && max >= 1))
    throw new RangeError('concurrencyLimit: max must be an integer ≥ 1')
  if (!(maxWaiting >= 0)) throw new RangeError('concurrencyLimit: maxWaiting must be ≥ 0')
  const slots = new Semaphore(max)
  const onRejected =
    options.onRejected ??
    ((c: Context, reason: 'busy' | 'timeout') =>
      c.json(
        {
          error:
            reason === 'busy'
              ? 'Service Unavailable: too many requests in progress'
              : `Service Unavailable: no slot within ${waitTimeout} ms`,
        },
        503
      ))

  // Attributes built once: nothing is allocated per request for telemetry.
  const named: Attributes = options.name === undefined ? {} : { [ATTR_NAME]: options.name }
  const shed = {
    busy: { metric: { ...named, [ATTR_CONCURRENCY_LIMIT_REASON]: 'busy' }, span: shedSpan('busy') },
    timeout: {
      metric: { ...named, [ATTR_CONCURRENCY_LIMIT_REASON]: 'timeout' },
      span: shedSpan('timeout'),
    },
  }

  async function refuse(c: Context, reason: 'busy' | 'timeout'): Promise<Response> {
    if (instrumentation !== undefined) {
      decided(
        instrumentation,
        METRIC_CONCURRENCY_LIMIT_SHED,
        shed[reason].metric,
        shed[reason].span
      )
    }
    const res = await onRejected(c, reason)
    res.headers.set('Retry-After', String(retryAfter))
    return res
  }

  return async function concurrencyLimit(c, next) {
    // A slot is free only when nobody waits (FIFO: a newcomer does not overtake the line).
    if (slots.locked) {
      if (slots.waiting >= maxWaiting) return refuse(c, 'busy')
      const signal =
        waitTimeout === undefined
          ? c.req.raw.signal
          : AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(waitTimeout)])
      // The line is a wait like a primitive's: a span, and its depth as an up-down counter.
      const ins = instrumentation
      const wait = ins?.startWait('concurrencyLimit', 'wait', options.name)
      ins?.add(METRIC_CONCURRENCY_LIMIT_QUEUED, 1, named)
      try {
        await slots.acquire({ signal })
      } catch {
        wait?.end('aborted')
        ins?.add(METRIC_CONCURRENCY_LIMIT_QUEUED, -1, named)
        // The client left (nobody reads this answer) or the wait timed out.
        return refuse(c, c.req.raw.signal.aborted ? 'busy' : 'timeout')
      }
      if (ins !== undefined) {
        wait?.end('acquired')
        ins.add(METRIC_CONCURRENCY_LIMIT_QUEUED, -1, named)
        ins.annotate(QUEUED)
      }
    } else {
      // Free: taken at once, without touching the request's signal (costly to create on
      // Node) or a timer. An uncontended acquire takes the permit synchronously (see
      // Semaphore), so its settled promise need not cost a microtask turn here.
      void slots.acquire()
    }
    try {
      await next()
    } finally {
      slots.release()
    }
  }
}

function shedSpan(reason: 'busy' | 'timeout') {
  return {
    [ATTR_CONCURRENCY_LIMIT_OUTCOME]: 'shed',
    [ATTR_CONCURRENCY_LIMIT_REASON]: reason,
  } as const
}
