import type { Attributes, Span, TextMapSetter } from '@opentelemetry/api'
import { loadedOtel, type OtelApi, sdkTracer } from '../middleware/telemetry/api.ts'
import { KNOWN_METHODS } from '../middleware/telemetry/methods.ts'

// Trace propagation and a CLIENT span per attempt, following the HTTP client semantic
// conventions. Only when `@opentelemetry/api` is already loaded (`telemetry()` or the
// application loaded it): the client never loads it itself, so a service that does not
// trace pays one function call per attempt. A span is started only when an SDK's tracer is
// registered; the active context is injected into the request's headers whenever it holds
// a span to continue.

/** The instrumentation scope of the client's spans. */
const TRACER = 'edgeio.client'

/** Never replaces a header the caller set (a `traceparent` of their own). */
const setter: TextMapSetter<Headers> = {
  set(headers, key, value) {
    if (!headers.has(key)) headers.set(key, value)
  },
}

/** One traced attempt: the headers to send instead of the call's, and the span to end. */
export interface AttemptTrace {
  /** A copy of the call's headers with the propagation headers added. */
  readonly headers: Headers
  /** Ends the span with the attempt's response, or the error it failed with. */
  end(response: Response | undefined, error?: unknown): void
}

/**
 * Starts tracing one attempt, or returns `undefined` when there is nothing to do (the API
 * is not loaded, or no tracer is registered and no span is active).
 *
 * @example
 * ```ts
 * const traced = traceAttempt('GET', 'https://api.example.com/items', 1, init.headers)
 * const res = await fetch(url, { ...init, headers: traced?.headers ?? init.headers })
 * traced?.end(res)
 * ```
 */
export function traceAttempt(
  method: string,
  href: string,
  attempt: number,
  headers: HeadersInit | undefined
): AttemptTrace | undefined {
  const otel = loadedOtel()
  if (otel === undefined) return undefined
  const active = otel.context.active()
  const tracer = sdkTracer(otel, TRACER)
  let span: Span | undefined
  let context = active
  if (tracer !== undefined) {
    span = tracer.startSpan(
      KNOWN_METHODS.has(method) ? method : 'HTTP',
      { kind: otel.SpanKind.CLIENT, attributes: attemptAttributes(method, new URL(href), attempt) },
      active
    )
    context = otel.trace.setSpan(active, span)
  } else if (otel.trace.getSpanContext(active) === undefined) {
    return undefined // no tracer and nothing to continue: leave the request as it is
  }
  const carrier = new Headers(headers)
  otel.propagation.inject(context, carrier, setter)
  return {
    headers: carrier,
    end: (response, error) => {
      if (span !== undefined) endSpan(otel, span, response, error)
    },
  }
}

function attemptAttributes(method: string, url: URL, attempt: number): Attributes {
  const known = KNOWN_METHODS.has(method)
  const attributes: Attributes = {
    'http.request.method': known ? method : '_OTHER',
    'server.address': url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    'server.port': url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
    // Without the query (it may carry credentials or tokens) nor the userinfo.
    'url.full': `${url.origin}${url.pathname}`,
  }
  if (!known) attributes['http.request.method_original'] = method
  if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1
  return attributes
}

function endSpan(otel: OtelApi, span: Span, response: Response | undefined, error: unknown) {
  if (response !== undefined) {
    span.setAttribute('http.response.status_code', response.status)
    // For a client, any status from 400 up is an error (the conventions' client rule).
    if (response.status >= 400) {
      span.setAttribute('error.type', String(response.status))
      span.setStatus({ code: otel.SpanStatusCode.ERROR })
    }
  } else if (error !== undefined) {
    const type =
      error instanceof Error ? error.constructor.name || error.name || '_OTHER' : '_OTHER'
    span.setAttribute('error.type', type)
    if (error instanceof Error) span.recordException(error)
    span.setStatus({
      code: otel.SpanStatusCode.ERROR,
      ...(error instanceof Error ? { message: error.message } : {}),
    })
  }
  span.end()
}
