// The Instrumentation over `@opentelemetry/api`: spans from the tracer, counters and
// histograms from the meter, created on first use.
import type {
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Tracer,
  TracerProvider,
  UpDownCounter,
} from '@opentelemetry/api'
import { type OtelApi, sdkTracer } from '../middleware/telemetry/api.ts'
import type { Attributes, Instrumentation, WaitRecord } from './instrumentation.ts'
import {
  ATTR_PRIMITIVE,
  ATTR_PRIMITIVE_NAME,
  ATTR_WAIT_OUTCOME,
  METRIC_COALESCE_HITS,
  METRIC_CONCURRENCY_LIMIT_QUEUED,
  METRIC_CONCURRENCY_LIMIT_SHED,
  METRIC_DEADLINE_EXPIRED,
  METRIC_DISTRIBUTED_ACQUIRE_DURATION,
  METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS,
  METRIC_EXECUTOR_QUEUE_DURATION,
  METRIC_EXECUTOR_RUN_DURATION,
  METRIC_JOB_ATTEMPTS,
  METRIC_LEASE_LOST,
  METRIC_RATE_LIMIT_DECISIONS,
  METRIC_WAIT_DURATION,
  SCOPE_NAME,
  type WaitOutcome,
  waitSpanName,
} from './names.ts'

/** Where the OpenTelemetry instrumentation gets its tracer and meter. */
export interface OtelInstrumentationOptions {
  /** Where spans go. Default: the global tracer provider, also one registered later. */
  tracerProvider?: TracerProvider | undefined
  /** Meter provider. Default: the global one (looked up again when it changes). */
  meterProvider?: MeterProvider | undefined
  /**
   * Start wait spans also when no span is active (a background consumer's `Queue.get`):
   * each becomes a root span. Default `false`: such waits are measured, not traced.
   */
  rootWaitSpans?: boolean | undefined
}

// Durations in seconds: the SDK's default boundaries (0…10,000) suit milliseconds.
const SECONDS_BOUNDARIES = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]
const UP_DOWN = new Set([METRIC_CONCURRENCY_LIMIT_QUEUED])
/** What each metric counts: Prometheus shows it as the `# HELP` line. */
const DESCRIPTIONS: Record<string, string> = {
  [METRIC_WAIT_DURATION]: 'Time a call to a named edgeio primitive spent waiting',
  [METRIC_CONCURRENCY_LIMIT_QUEUED]: 'Requests waiting in concurrencyLimit() now',
  [METRIC_CONCURRENCY_LIMIT_SHED]: 'Requests refused with 503 by concurrencyLimit()',
  [METRIC_RATE_LIMIT_DECISIONS]: 'rateLimit() decisions',
  [METRIC_DEADLINE_EXPIRED]: 'Requests whose deadline() passed (answered 504)',
  [METRIC_COALESCE_HITS]: "Requests coalesce() served from another request's run",
  [METRIC_EXECUTOR_QUEUE_DURATION]: 'Time an executor task waited for a worker',
  [METRIC_EXECUTOR_RUN_DURATION]: 'Time an executor task ran',
  [METRIC_JOB_ATTEMPTS]: 'Job attempts, by outcome',
  [METRIC_DISTRIBUTED_ACQUIRE_DURATION]: 'Time a distributed lock or semaphore acquire took',
  [METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS]:
    'Round trips to the coordinator per distributed acquire',
  [METRIC_LEASE_LOST]: 'Leases lost (expired or taken over before release)',
}

/** Builds the {@link Instrumentation} that reports to OpenTelemetry through `otel`. */
export function otelInstrumentation(
  otel: OtelApi,
  options: OtelInstrumentationOptions = {}
): Instrumentation {
  let tracer = options.tracerProvider?.getTracer(SCOPE_NAME)
  const rootWaitSpans = options.rootWaitSpans === true
  let provider: MeterProvider | undefined
  let meter: Meter | undefined
  /** The meter is the API's no-op one (no SDK registered): measuring would be wasted. */
  let noMeter = true
  const noopMeter = otel.createNoopMeter()
  let counters = new Map<string, Counter | UpDownCounter>()
  let histograms = new Map<string, Histogram>()

  /**
   * The registered SDK's tracer, or `undefined` while there is none, as `telemetry()` looks
   * it up: looked up per call until an SDK registers, then kept.
   */
  function currentTracer(): Tracer | undefined {
    tracer ??= sdkTracer(otel, SCOPE_NAME)
    return tracer
  }

  function currentMeter(): Meter {
    // The global provider may be registered after instrument(): the API's no-op meter does
    // not follow it, so look again when it changes.
    const now = options.meterProvider ?? otel.metrics.getMeterProvider()
    if (now !== provider || meter === undefined) {
      provider = now
      meter = now.getMeter(SCOPE_NAME)
      noMeter = meter.constructor === noopMeter.constructor
      counters = new Map()
      histograms = new Map()
    }
    return meter
  }

  function counter(name: string): Counter | UpDownCounter {
    const m = currentMeter()
    let c = counters.get(name)
    if (c === undefined) {
      const description = DESCRIPTIONS[name]
      c = UP_DOWN.has(name)
        ? m.createUpDownCounter(name, { description })
        : m.createCounter(name, { description })
      counters.set(name, c)
    }
    return c
  }

  function histogram(name: string): Histogram {
    const m = currentMeter()
    let h = histograms.get(name)
    if (h === undefined) {
      const roundTrips = name === METRIC_DISTRIBUTED_ACQUIRE_ROUND_TRIPS
      h = m.createHistogram(name, {
        description: DESCRIPTIONS[name],
        unit: roundTrips ? '{round_trip}' : 's',
        advice: {
          explicitBucketBoundaries: roundTrips ? [1, 2, 3, 5, 10, 20, 50] : SECONDS_BOUNDARIES,
        },
      })
      histograms.set(name, h)
    }
    return h
  }

  return {
    startWait(primitive: string, method: string, name: string | undefined): WaitRecord | undefined {
      const tracer = currentTracer()
      currentMeter()
      // No SDK at all: nothing to record, and the wait is left unobserved (no extra turn).
      if (tracer === undefined && noMeter) return undefined
      const started = performance.now()
      const ctx = otel.context.active()
      const span =
        tracer !== undefined && (rootWaitSpans || otel.trace.getSpan(ctx) !== undefined)
          ? tracer.startSpan(
              waitSpanName(primitive, method, name),
              {
                kind: otel.SpanKind.INTERNAL,
                attributes:
                  name === undefined
                    ? { [ATTR_PRIMITIVE]: primitive }
                    : { [ATTR_PRIMITIVE]: primitive, [ATTR_PRIMITIVE_NAME]: name },
              },
              ctx
            )
          : undefined
      return {
        end(outcome: WaitOutcome, error?: unknown): void {
          const attributes: Record<string, string> = {
            [ATTR_PRIMITIVE]: primitive,
            [ATTR_WAIT_OUTCOME]: outcome,
          }
          if (name !== undefined) attributes[ATTR_PRIMITIVE_NAME] = name
          if (!noMeter)
            histogram(METRIC_WAIT_DURATION).record((performance.now() - started) / 1000, attributes)
          if (span === undefined) return
          span.setAttribute(ATTR_WAIT_OUTCOME, outcome)
          if (outcome === 'error' || outcome === 'stalled') {
            span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorMessage(error) })
            if (error instanceof Error) span.recordException(error)
          }
          span.end()
        },
      }
    },
    add(metric: string, value: number, attributes?: Attributes): void {
      const c = counter(metric)
      if (!noMeter) c.add(value, attributes)
    },
    record(metric: string, value: number, attributes?: Attributes): void {
      const h = histogram(metric)
      if (!noMeter) h.record(value, attributes)
    },
    annotate(attributes: Attributes): void {
      otel.trace.getActiveSpan()?.setAttributes(attributes)
    },
  }
}

function errorMessage(error: unknown): string | undefined {
  return error instanceof Error ? error.message : error === undefined ? undefined : String(error)
}
