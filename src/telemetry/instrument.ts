import type { MeterProvider, TracerProvider } from '@opentelemetry/api'
import { loadedOtel, loadOtel, type OtelApi } from '../middleware/telemetry/api.ts'
import { type Instrumentation, instrumentation, setInstrumentation } from './instrumentation.ts'
import { otelInstrumentation } from './otel.ts'

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`). */
  tracerProvider?: TracerProvider | undefined
  /** Where metrics go. Default: the global meter provider, also one registered later. */
  meterProvider?: MeterProvider | undefined
  /**
   * Trace waits that happen outside any span (a background consumer's `Queue.get`) as root
   * spans. Default `false`: they are only measured (`edgeio.wait.duration`).
   */
  rootWaitSpans?: boolean | undefined
}

/** `instrument()` calls still loading the API (installed once it has loaded). */
let loadingCalls = 0

/**
 * Whether an instrumentation is installed or an `instrument()` call is about to install
 * one: `telemetry()` then leaves the hook to it (with its `meterProvider`, say) instead of
 * replacing it.
 */
export function instrumentCalled(): boolean {
  return instrumentation !== undefined || loadingCalls > 0
}

/** What {@link instrument} returns. */
export interface Instrumented {
  /**
   * Settles once reporting has started: `@opentelemetry/api` is loaded on demand (it would
   * cost every service's cold start otherwise), and nothing is recorded until it has
   * loaded. Await it where the first waits matter (tests, a job worker started at once).
   */
  readonly ready: Promise<void>
  /** Stops reporting: removes this instrumentation if it is still the one installed. */
  uninstall(): void
}

/**
 * Reports the waiting inside edgeio to OpenTelemetry: wait spans and `edgeio.wait.duration`
 * for named primitives (`new Semaphore(3, { name: 'db' })`), and the counters and
 * histograms of `concurrencyLimit`, `rateLimit`, `deadline`, `coalesce`, the executors,
 * jobs and distributed locks (names in `docs/observability.md`). Through
 * `@opentelemetry/api` only: bring the SDK and exporter of your choice. `telemetry()` calls
 * it for you.
 *
 * Synchronous, so that a middleware factory can call it: the API is loaded in the
 * background and reporting starts when it has loaded (`ready`); until then nothing is
 * recorded. If the API is loaded already (after `telemetry()` served a request, or a second
 * call), reporting starts before this returns.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api'
 * trace.setGlobalTracerProvider(provider) // your SDK
 * const { ready, uninstall } = instrument()
 * await ready
 * const db = new Semaphore(4, { name: 'db' }) // its waits are now spans 'Semaphore.acquire db'
 * ```
 */
export function instrument(options: InstrumentOptions = {}): Instrumented {
  let installed: Instrumentation | undefined
  let removed = false
  const install = (otel: OtelApi): void => {
    if (removed) return
    installed = otelInstrumentation(otel, {
      tracerProvider: options.tracerProvider,
      meterProvider: options.meterProvider,
      rootWaitSpans: options.rootWaitSpans,
    })
    setInstrumentation(installed)
  }
  const loaded = loadedOtel()
  let ready: Promise<void>
  if (loaded !== undefined) {
    install(loaded)
    ready = Promise.resolve()
  } else {
    loadingCalls++
    ready = loadOtel().then(
      (otel) => {
        loadingCalls--
        install(otel)
      },
      (error: unknown) => {
        loadingCalls--
        throw error
      }
    )
    // Rejects when `@opentelemetry/api` is not installed: for whoever awaits it, not as an
    // unhandled rejection of a middleware factory that does not.
    ready.catch(() => {})
  }
  return {
    ready,
    uninstall(): void {
      removed = true
      if (installed !== undefined && instrumentation === installed) setInstrumentation(undefined)
      installed = undefined
    },
  }
}
