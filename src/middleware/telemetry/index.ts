import type { Attributes, Span, TextMapGetter, Tracer, TracerProvider } from '@opentelemetry/api'
import type { Context, MiddlewareHandler, Next } from 'hono'
import { clientAddress } from '../../client-address.ts'
import { instrument, instrumentCalled } from '../../telemetry/instrument.ts'
import { loadedOtel, loadOtel, type OtelApi, sdkTracer } from './api.ts'
import { isStreamed, onBodyEnd } from './body.ts'
import { KNOWN_METHODS } from './methods.ts'
import { routeTemplate } from './route.ts'

export { routeTemplate } from './route.ts'

/** What `telemetry()` puts on the context (typed through its middleware type). */
export interface TelemetryVariables {
  /**
   * The request's server span: add events and attributes to it from handlers
   * (`c.get('span')?.addEvent(…)`). `undefined` when no OpenTelemetry SDK is registered or
   * the request is skipped; a non-recording span when the sampler dropped it.
   */
  span?: Span
}

export interface TelemetryOptions {
  /** The instrumentation scope's name. Default: `edgeio`. */
  tracerName?: string
  /** The instrumentation scope's version. */
  tracerVersion?: string
  /** Where spans go. Default: the globally registered provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider
  /**
   * Request headers recorded as `http.request.header.<name>` (an array of one value). Default:
   * none — headers carry credentials; name only the ones you want in your traces.
   */
  requestHeaders?: readonly string[]
  /** Response headers recorded as `http.response.header.<name>`. Default: none. */
  responseHeaders?: readonly string[]
  /** Requests to leave untraced (health checks): `c.get('span')` is then `undefined`. */
  skip?: (c: Context) => boolean
  /**
   * Exports what the request recorded, e.g. `() => provider.forceFlush()`. Needed on Workers,
   * where the isolate may stop once the response is sent: it is handed to the request's
   * `waitUntil` (edgeio's tracker on Node, Deno and Bun, which a graceful shutdown awaits),
   * started after the server span ended — for a streamed body, after its last chunk.
   * Leave it out where a batching processor exports on its own (Node, Deno).
   */
  flush?: () => Promise<void>
  /**
   * Also report the waiting inside edgeio (`instrument()`: wait spans of named primitives,
   * the limits' decisions on this span, their metrics), to the same `tracerProvider`.
   * Default `true`, unless `instrument()` was called already (that call's options stand);
   * `false` leaves the hook as it is.
   */
  instrument?: boolean
}

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => Array.from(headers.keys()),
  get: (headers, key) => headers.get(key) ?? undefined,
}

/**
 * An OpenTelemetry HTTP server span per request, through `@opentelemetry/api` only: bring
 * the SDK and exporter of your choice and register them before the first request. Follows
 * the stable HTTP semantic conventions (span `GET /users/:id`, kind SERVER, `http.route`,
 * `http.response.status_code`, `error.type` and status ERROR on a 5xx or an exception),
 * continues the trace of an incoming W3C `traceparent` through the registered propagator,
 * runs the rest of the chain in the span's context, and ends the span when the response is
 * complete: when the handler returns, or at the end of a streamed body (see `isStreamed`).
 * With no SDK registered it does nothing but call `next()` (`c.get('span')` is `undefined`;
 * an incoming `traceparent` is not passed on either: there is no tracer to continue it).
 * It also calls `instrument()` (unless `instrument: false`), so that the waits of named
 * primitives and the limits' decisions show up in the request's trace.
 *
 * @example
 * ```ts
 * app.use(telemetry({ skip: (c) => c.req.path === '/healthz' }))
 * app.get('/users/:id', (c) => {
 *   c.get('span')?.addEvent('cache miss')
 *   return c.json(load(c.req.param('id')))
 * })
 * ```
 */
export function telemetry(
  options: TelemetryOptions = {}
): MiddlewareHandler<{ Variables: TelemetryVariables }> {
  const name = options.tracerName ?? 'edgeio'
  const version = options.tracerVersion
  let tracer = options.tracerProvider?.getTracer(name, version)
  /**
   * The tracer of the registered SDK, or `undefined` while there is none (the request then
   * costs a lookup). Looked up per request until an SDK registers, then kept, as the API's
   * own ProxyTracer keeps its delegate.
   */
  const registered = (otel: OtelApi): Tracer | undefined => {
    tracer ??= sdkTracer(otel, name, version)
    return tracer
  }
  // Loading starts with the app; a request that comes before it is done waits for it.
  void loadOtel()
  // A user's own instrument() call (its meterProvider, say) is kept, not replaced.
  if (options.instrument !== false && !instrumentCalled()) {
    instrument({ tracerProvider: options.tracerProvider })
  }
  const { skip, flush } = options
  const requestHeaders = options.requestHeaders?.map((header) => header.toLowerCase()) ?? []
  const responseHeaders = options.responseHeaders?.map((header) => header.toLowerCase()) ?? []

  /**
   * Not `async`, and nothing set on `c` without an SDK: `next()`'s own promise is returned,
   * and Hono allocates no variable map for the request. That path measured +3 % CPU per
   * `app.request()` over a no-op middleware with a shared no-op span set on `c`, about half
   * of it the first `c.set()`; `c.get('span')` is `undefined` there instead.
   */
  return function telemetry(c, next): Promise<void> {
    const otel = loadedOtel()
    if (otel === undefined) return loadOtel().then(() => telemetry(c, next))
    const tracer = registered(otel)
    if (tracer === undefined || skip?.(c)) return next() // nothing recorded, nothing to flush
    return traced(otel, tracer, c, next)
  }

  async function traced(
    otel: OtelApi,
    tracer: Tracer,
    c: Context<{ Variables: TelemetryVariables }>,
    next: Next
  ): Promise<void> {
    const request = c.req.raw
    const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER'
    const route = routeTemplate(c)
    const parent = otel.propagation.extract(otel.context.active(), request.headers, headerGetter)
    // What a sampler sees; the costlier attributes wait until the span is known to record.
    const attributes: Attributes = {
      'http.request.method': method,
      'url.path': c.req.path,
      'url.scheme': schemeOf(request.url),
    }
    if (method === '_OTHER') attributes['http.request.method_original'] = request.method
    if (route !== undefined) attributes['http.route'] = route
    const spanName = `${method === '_OTHER' ? 'HTTP' : method}${route === undefined ? '' : ` ${route}`}`
    const span = tracer.startSpan(spanName, { kind: otel.SpanKind.SERVER, attributes }, parent)
    c.set('span', span)
    const recording = span.isRecording()
    if (!recording && !otel.isSpanContextValid(span.spanContext())) {
      // Nothing to record, no trace to propagate (sampled out at the root): no context to enter.
      try {
        await next()
      } finally {
        span.end()
        if (flush) scheduleFlush(c, flush, undefined)
      }
      return
    }
    if (recording) span.setAttributes(requestAttributes(c, request, requestHeaders))
    try {
      await otel.context.with(otel.trace.setSpan(parent, span), next)
    } catch (error) {
      // Only what Hono's error handler let through (a non-Error throw) gets here.
      recordError(otel, span, error)
      span.end()
      if (flush) scheduleFlush(c, flush, undefined)
      throw error
    }
    const res = c.res
    if (recording) recordResponse(otel, span, res, c.error, responseHeaders)
    // Headers first: on Bun, reading `res.body` of a string response drops its implicit
    // `text/plain` (it is then sent as application/octet-stream).
    if (recording && request.method !== 'HEAD' && isStreamed(res) && res.body) {
      let ended!: () => void
      const bodyEnded = new Promise<void>((resolve) => {
        ended = resolve
      })
      c.res = undefined // so Hono does not copy the headers onto the wrapper a second time
      c.res = onBodyEnd(res, (error) => {
        if (error !== undefined) recordError(otel, span, error)
        span.end()
        ended()
      })
      if (flush) scheduleFlush(c, flush, bodyEnded)
      return
    }
    span.end()
    if (flush) scheduleFlush(c, flush, undefined)
  }
}

/** `https` from `https://host/path`, without parsing the URL. */
function schemeOf(url: string): string {
  return url.slice(0, url.indexOf(':'))
}

/** `server.address` and `server.port` from the URL's authority (`[::1]:8080` included). */
function authority(url: string, scheme: string, attributes: Attributes): void {
  const start = scheme.length + 3 // past `://`
  const slash = url.indexOf('/', start)
  const host = url.slice(start, slash < 0 ? url.length : slash)
  const colon = host.lastIndexOf(':')
  const hasPort = colon > host.lastIndexOf(']')
  attributes['server.address'] = hasPort ? host.slice(0, colon) : host
  const port = hasPort ? Number(host.slice(colon + 1)) : scheme === 'https' ? 443 : 80
  if (Number.isInteger(port)) attributes['server.port'] = port
}

function requestAttributes(c: Context, request: Request, captured: string[]): Attributes {
  const attributes: Attributes = {}
  const url = request.url
  authority(url, schemeOf(url), attributes)
  const userAgent = request.headers.get('user-agent')
  if (userAgent !== null) attributes['user_agent.original'] = userAgent
  const client = clientAddress(c)
  if (client !== undefined) attributes['client.address'] = client
  for (const name of captured) {
    const value = request.headers.get(name)
    if (value !== null) attributes[`http.request.header.${name}`] = [value]
  }
  return attributes
}

function recordResponse(
  otel: OtelApi,
  span: Span,
  res: Response,
  error: unknown,
  captured: string[]
): void {
  const status = res.status
  span.setAttribute('http.response.status_code', status)
  for (const name of captured) {
    const value = res.headers.get(name)
    if (value !== null) span.setAttribute(`http.response.header.${name}`, [value])
  }
  // A 4xx is the client's error, not the server's: the span's status stays unset.
  if (status < 500) return
  if (error !== undefined) recordError(otel, span, error)
  else {
    span.setAttribute('error.type', String(status))
    span.setStatus({ code: otel.SpanStatusCode.ERROR })
  }
}

/** `error.type` is the exception's class name, as the conventions ask. */
function recordError(otel: OtelApi, span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error)
    span.setAttribute('error.type', error.constructor.name || error.name)
    span.setStatus({ code: otel.SpanStatusCode.ERROR, message: error.message })
  } else {
    span.setAttribute('error.type', '_OTHER')
    span.setStatus({ code: otel.SpanStatusCode.ERROR })
  }
}

/**
 * Runs `flush` after `after` (the end of a streamed body) and one macrotask — so that an
 * exporter's serialisation does not sit between the handler and the response — inside the
 * request's `waitUntil`. `app.request()` in tests has no execution context: the flush then
 * runs detached, its failure logged.
 */
function scheduleFlush(
  c: Context,
  flush: () => Promise<void>,
  after: Promise<void> | undefined
): void {
  const run = (async () => {
    await after
    await new Promise((resolve) => setTimeout(resolve, 0))
    await flush()
  })()
  let executionCtx: Context['executionCtx'] | undefined
  try {
    executionCtx = c.executionCtx
  } catch {
    // no execution context (app.request): handled below
  }
  if (executionCtx) executionCtx.waitUntil(run)
  else run.catch((error: unknown) => console.error('edgeio: telemetry flush failed:', error))
}

/**
 * The span of the request: the one `telemetry()` put on `c`, else the active span (a server
 * span that instrumentation outside Hono started), else `undefined`.
 */
export function requestSpan(c: Context): Span | undefined {
  const span: Span | undefined = c.get('span')
  return span ?? loadedOtel()?.trace.getActiveSpan()
}
