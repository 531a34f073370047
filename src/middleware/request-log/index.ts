import type { MiddlewareHandler } from 'hono'
import { type ClientAddressOptions, clientAddress } from '../../client-address.ts'
import { loadedOtel, loadOtel } from '../telemetry/api.ts'
import { requestSpan } from '../telemetry/index.ts'
import { routeTemplate } from '../telemetry/route.ts'
import { isoTime } from './iso-time.ts'

/** What `requestLog()` puts on the context (typed through its middleware type). */
export interface RequestLogVariables {
  /** The request's id: the client's (or proxy's) if valid, else a fresh UUID. */
  requestId: string
}

/** One request's log line, before `JSON.stringify`. Absent values are `null`, never missing. */
export interface RequestLogRecord {
  /** When the request reached the middleware, ISO 8601 (UTC). */
  time: string
  method: string
  /** The route template (`/users/:id`); `null` when no route matched (a 404). */
  route: string | null
  path: string
  status: number
  /**
   * Milliseconds until the response's headers were ready (a streamed body goes on after).
   * Workers advance the clock only across I/O: a request that does none logs `0`.
   */
  durationMs: number
  requestId: string
  /** The trace of the request's span (see `telemetry()`), when one is sampled or propagated. */
  traceId: string | null
  /** The client's address per `clientAddress` (and this middleware's `trustProxy`). */
  clientAddress: string | null
}

export interface RequestLogOptions extends ClientAddressOptions {
  /**
   * The header that carries the request id, in and out. Default: `x-request-id`. An incoming
   * id is kept when it is 1–`maxIdLength` characters of `A–Z a–z 0–9 . _ ~ : + = / -` (nothing
   * that could forge a log field or a header); otherwise a fresh one replaces it.
   */
  header?: string
  /** Default: 128. */
  maxIdLength?: number
  /** Makes a request id. Default: `crypto.randomUUID()`. */
  generateId?: () => string
  /** Receives each line (and its record). Default: `console.log(line)`. */
  sink?: (line: string, record: RequestLogRecord) => void
}

const SAFE_ID = /^[A-Za-z0-9._~:+=/-]+$/

const defaultSink = (line: string): void => {
  console.log(line)
}

/**
 * A structured access log: one JSON line per request, with the same fields on every runtime
 * (`RequestLogRecord`), and a request id taken from, or else set on, `X-Request-Id` — on the
 * response and as `c.get('requestId')`. Register it after `telemetry()` to log the trace id.
 *
 * @example
 * ```ts
 * app.use(telemetry(), requestLog())
 * // {"time":"2026-12-04T10:00:00.000Z","method":"GET","route":"/users/:id","path":"/users/7",
 * //  "status":200,"durationMs":1.204,"requestId":"…","traceId":"…","clientAddress":"10.0.0.7"}
 * ```
 */
export function requestLog(
  options: RequestLogOptions = {}
): MiddlewareHandler<{ Variables: RequestLogVariables }> {
  // For the trace id of a span other instrumentation started (telemetry() loads it too).
  void loadOtel()
  const header = (options.header ?? 'x-request-id').toLowerCase()
  const maxIdLength = options.maxIdLength ?? 128
  if (!(maxIdLength >= 1)) throw new RangeError('requestLog: maxIdLength must be ≥ 1')
  const generateId = options.generateId ?? (() => crypto.randomUUID())
  const sink = options.sink ?? defaultSink
  const trustProxy = options.trustProxy ?? false

  return async function requestLog(c, next) {
    const time = isoTime(Date.now())
    const start = performance.now()
    const incoming = c.req.header(header)
    const requestId =
      incoming !== undefined && incoming.length <= maxIdLength && SAFE_ID.test(incoming)
        ? incoming
        : generateId()
    c.set('requestId', requestId)
    let status = 500 // what Hono answers when an error escapes the chain
    try {
      await next()
      status = c.res.status
      setHeader(c, header, requestId)
    } finally {
      const spanContext = requestSpan(c)?.spanContext()
      const record: RequestLogRecord = {
        time,
        method: c.req.method,
        route: routeTemplate(c) ?? null,
        path: c.req.path,
        status,
        durationMs: Math.round((performance.now() - start) * 1000) / 1000,
        requestId,
        traceId:
          spanContext && loadedOtel()?.isSpanContextValid(spanContext) ? spanContext.traceId : null,
        clientAddress: clientAddress(c, { trustProxy }) ?? null,
      }
      sink(JSON.stringify(record), record)
    }
  }
}

/** Sets the id on the response; a response with immutable headers (`fetch`'s) is copied. */
function setHeader(c: Parameters<MiddlewareHandler>[0], name: string, value: string): void {
  try {
    c.res.headers.set(name, value)
  } catch {
    const res = c.res
    c.res = undefined
    c.res = new Response(res.body, res)
    c.res.headers.set(name, value)
  }
}
