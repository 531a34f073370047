import type { MiddlewareHandler } from 'hono'

declare module 'hono' {
  interface ContextVariableMap {
    /**
     * Aborts when the client disconnects or the request's deadline passes. Pass it to
     * `fetch`, to every primitive and to `TaskGroup`, so that work stops with the request.
     */
    signal: AbortSignal
  }
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

/**
 * A cancelling timeout. Unlike a timer raced against the handler, it aborts the work:
 * the handler reads `c.get('signal')` — the client's disconnect and the deadline in one
 * signal — and passes it on. At the deadline the client gets `504` even when the handler
 * catches the abort and answers at once: the deadline's response replaces whatever the
 * handler set. A handler that ignores the signal is not waited for.
 *
 * @example
 * ```ts
 * app.get('/report', deadline({ ms: 2_000 }), async (c) => {
 *   const res = await fetch(upstream, { signal: c.get('signal') })
 *   return c.json(await res.json())
 * })
 * ```
 */
export function deadline(options: DeadlineOptions): MiddlewareHandler {
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
    const expiry = new AbortController()
    const signal = AbortSignal.any([c.req.raw.signal, expiry.signal])
    c.set('signal', signal)
    const expired = Promise.withResolvers<'expired'>()
    const timer = setTimeout(() => {
      expiry.abort(new DOMException(`The deadline of ${ms} ms passed.`, 'TimeoutError'))
      expired.resolve('expired')
    }, ms)
    // The handler may settle after the deadline answered; its outcome is then ignored.
    const handled = next().then(
      () => 'handled' as const,
      (error: unknown) => {
        if (!expiry.signal.aborted) throw error
        return 'handled' as const
      }
    )
    try {
      if (
        (await Promise.race([handled, expired.promise])) === 'handled' &&
        !expiry.signal.aborted
      ) {
        return
      }
    } finally {
      clearTimeout(timer)
    }
    const replaced = c.res
    c.res = undefined // so the deadline's response inherits no header of the handler's
    c.res = await onTimeout(c)
    await replaced.body?.cancel().catch(() => {})
  }
}
