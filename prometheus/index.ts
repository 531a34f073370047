/**
 * `edgeio/prometheus`: a Prometheus `/metrics` endpoint served by the app on Node, Deno and
 * Bun, through the OpenTelemetry Prometheus exporter (an optional peer, with
 * `@opentelemetry/sdk-metrics`). Its own entry: the exporter loads Node's `http` and the
 * OpenTelemetry SDK, which the runtime-neutral `edgeio` entry must not.
 */
export { isLoopback, type ScrapeAllow } from './access.ts'
export {
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusMetrics,
  type PrometheusMetricsOptions,
  prometheusMetrics,
  ScrapeError,
} from './metrics.ts'
