/**
 * `@opentelemetry/api`, loaded when `telemetry()` or `requestLog()` is first set up rather
 * than when `edgeio` is imported: its ~65 modules cost Node 12–24 ms at start, which every
 * service would pay whether it traces or not (measured: with a static import, a Node server
 * from the installed package took 1.38 × plain Hono's time to its first response, against
 * 1.16 × without). Bundlers still tree-shake it out of apps that never trace.
 */
export type OtelApi = typeof import('@opentelemetry/api')
type Tracer = import('@opentelemetry/api').Tracer

let api: OtelApi | undefined
let loading: Promise<OtelApi> | undefined

/** The API once loaded, else `undefined` (nothing has asked for it yet, or it is loading). */
export function loadedOtel(): OtelApi | undefined {
  return api
}

/**
 * The tracer of the SDK registered as the global provider, or `undefined` while none is:
 * the API's proxy would hand out a no-op tracer instead, whose spans still cost the extract,
 * span and context calls of a traced request (~0.2 µs on Node).
 */
export function sdkTracer(
  otel: OtelApi,
  name: string,
  version?: string | undefined
): Tracer | undefined {
  const provider = otel.trace.getTracerProvider()
  return provider instanceof otel.ProxyTracerProvider
    ? provider.getDelegateTracer(name, version)
    : provider.getTracer(name, version)
}

/** Loads the API (once); what the middleware awaits until it has it. */
export function loadOtel(): Promise<OtelApi> {
  loading ??= import('@opentelemetry/api').then((module) => {
    api = module
    return module
  })
  return loading
}
