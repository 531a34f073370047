import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { isTimeoutError } from '../tasks/timeout-error.ts'
import { bodyLimitError } from './body-limit.ts'

/**
 * `app.onError` handler answering JSON: a request whose body was refused over its limit
 * gets a 413 (see `bodyLimit()`), an `HTTPException` keeps its status and message
 * (or its own response), the request's own abort coming back (client gone, deadline
 * passed) is answered without a log line, and anything else becomes a 500 whose body says
 * nothing about the cause — the error and its stack go to the log, not to the client.
 *
 * @example
 * ```ts
 * app.onError(errorHandler)
 * ```
 */
export function errorHandler(error: Error, c: Context): Response {
  // A body refused over its limit is a 413, whatever a parser made of the failed read on
  // the way here (Hono's validator turns it into a 400 "Malformed JSON").
  const tooLarge = bodyLimitError(c.req.raw)
  if (tooLarge) return c.json({ error: tooLarge.message }, 413)
  if (error instanceof HTTPException) {
    if (error.res) return error.getResponse()
    return c.json({ error: error.message || statusText(error.status) }, error.status)
  }
  // The request's own abort coming back (the client left, or a deadline passed): not a
  // bug worth a stack trace, and whatever is answered here goes nowhere or is replaced.
  // deadline()'s signal when the route has one (Context<any> reads any variable).
  const signal = (c.get('signal') as AbortSignal | undefined) ?? c.req.raw.signal
  if (signal.aborted && error === signal.reason) {
    return isTimeoutError(error)
      ? c.json({ error: 'Gateway Timeout' }, 504)
      : c.json({ error: 'Request aborted' }, 503)
  }
  console.error('edgeio: unhandled error:', error)
  return c.json({ error: 'Internal Server Error' }, 500)
}

/**
 * `app.notFound` handler answering `404` with a JSON body.
 *
 * @example
 * ```ts
 * app.notFound(notFoundHandler)
 * ```
 */
export function notFoundHandler(c: Context): Response {
  return c.json({ error: 'Not Found', path: c.req.path }, 404)
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? 'Error'
}
