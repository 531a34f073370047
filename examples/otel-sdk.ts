/**
 * The OpenTelemetry SDK of the example service, loaded by examples/telemetry.ts only when a
 * binding asks for it (`OTEL_DEBUG`, `OTEL_EXPORTER_OTLP_ENDPOINT`): the same code on Node,
 * Deno, Bun and workerd. The official OTLP/HTTP exporter runs on all four: bundled for
 * Workers (the `browser` build) it sends with `fetch`; on Node, Deno and Bun it uses
 * `node:http`.
 */
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  type ExportResult,
  ExportResultCode,
  hrTimeToMicroseconds,
  W3CTraceContextPropagator,
} from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/** The bindings that switch tracing on (wrangler.toml `[vars]` on Workers, the environment elsewhere). */
export interface OtelBindings {
  /** Any value but `0` or `false`: every span is printed to the console as it ends. */
  OTEL_DEBUG?: string
  /** An OTLP/HTTP collector's base URL: spans go to `<url>/v1/traces` as OTLP JSON. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string
  /** How long the batch processor waits before it exports (ms; the SDK's default is 5 000). */
  OTEL_BSP_SCHEDULE_DELAY?: string
  /** The resource's `service.name` (default `edgeio-example`), which backends group spans by. */
  OTEL_SERVICE_NAME?: string
}

/** The registered SDK, as the example's middleware and cleanup hook see it. */
export interface OtelSdk {
  /** Exports every span that ended so far (what a Worker hands to `waitUntil`). */
  flush(): Promise<void>
  /** Exports what is buffered and stops (what a graceful shutdown awaits). */
  shutdown(): Promise<void>
}

const onWorkers = globalThis.navigator?.userAgent === 'Cloudflare-Workers'

/**
 * The console exporter's fields as one JSON line per span, through `console.log`: what
 * `wrangler dev` shows of a Worker's console (`ConsoleSpanExporter` uses `console.dir`, which
 * it does not show). Times in microseconds, as `ConsoleSpanExporter` prints them.
 */
class ConsoleLogSpanExporter implements SpanExporter {
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    for (const span of spans) {
      const { traceId, spanId } = span.spanContext()
      console.log(
        JSON.stringify({
          traceId,
          parentId: span.parentSpanContext?.spanId,
          name: span.name,
          id: spanId,
          kind: span.kind,
          timestamp: hrTimeToMicroseconds(span.startTime),
          duration: hrTimeToMicroseconds(span.duration),
          attributes: span.attributes,
          status: span.status,
          events: span.events.map((event) => event.name),
        })
      )
    }
    done({ code: ExportResultCode.SUCCESS })
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** True when a binding turns the console exporter on. */
export function debugOn(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/**
 * Registers the global tracer provider, context manager (`AsyncLocalStorage`: `node:async_hooks`
 * on Node, Deno and Bun, `nodejs_compat` on Workers) and W3C propagator.
 */
export function registerOtelSdk(bindings: OtelBindings): OtelSdk {
  const spanProcessors: SpanProcessor[] = []
  if (debugOn(bindings.OTEL_DEBUG)) {
    const exporter = onWorkers ? new ConsoleLogSpanExporter() : new ConsoleSpanExporter()
    spanProcessors.push(new SimpleSpanProcessor(exporter))
  }
  const endpoint = bindings.OTEL_EXPORTER_OTLP_ENDPOINT
  if (endpoint) {
    const delay = Number(bindings.OTEL_BSP_SCHEDULE_DELAY)
    spanProcessors.push(
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }),
        delay > 0 ? { scheduledDelayMillis: delay } : {}
      )
    )
  }
  // Without a service.name a backend files every span under `unknown_service`. Set here from
  // the bindings rather than by the SDK's environment detector, which workerd has no
  // `process.env` for.
  const resource = resourceFromAttributes({
    'service.name': bindings.OTEL_SERVICE_NAME || 'edgeio-example',
  })
  const provider = new BasicTracerProvider({ resource, spanProcessors })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  return { flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() }
}
