import { diag } from '@opentelemetry/api'
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus'
import type { Context, MiddlewareHandler } from 'hono'
import type { ClientAddressOptions } from '../src/client-address.ts'
import { refusal, type ScrapeAllow } from './access.ts'

/** The Prometheus text exposition format, version 0.0.4 (what Prometheus asks for last). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface PrometheusMetricsOptions extends ClientAddressOptions {
  /**
   * A bearer token the scraper must send (`Authorization: Bearer …`; in Prometheus,
   * `authorization: { credentials: … }`). Compared in constant time. Default: none.
   */
  token?: string
  /**
   * Who may scrape. `'loopback'`: clients on 127.0.0.0/8 or `::1` whose request carries no
   * `Forwarded`/`X-Forwarded-For`/`X-Real-IP` header (a proxy on the same host connects from
   * loopback too); with `trustProxy`, the address `clientAddress()` takes from
   * `X-Forwarded-For` instead. `'any'`: every client (with `token`, every client that has it).
   * A function decides per request. Default: `'any'` when `token` is set, else `'loopback'`,
   * so that an endpoint mounted on a public port shows nothing to the internet by default.
   */
  allow?: ScrapeAllow
  /**
   * How long the observable callbacks of one collection may take: the series of those that
   * have not answered by then are left out of that scrape. Default: 10 000 ms (Prometheus's
   * default `scrape_timeout`).
   */
  timeoutMs?: number
  /** Prepended with `_` to every metric name. Default: none. */
  prefix?: string
  /** Leave out the `otel_scope_name`/`otel_scope_version` labels. Default: `false`. */
  withoutScopeInfo?: boolean
  /** Leave out the `target_info` series (the resource's attributes). Default: `false`. */
  withoutTargetInfo?: boolean
  /** Resource attributes (matching this) copied as labels onto every series. Default: none. */
  withResourceConstantLabels?: RegExp
}

export interface PrometheusMetrics {
  /**
   * The OpenTelemetry metric reader to give the `MeterProvider`
   * (`new MeterProvider({ readers: [metrics.reader] })`). It is the official exporter's,
   * with its own HTTP server never started: the app serves the scrapes.
   */
  readonly reader: PrometheusExporter
  /** Serves the scrape: mount it as `app.get('/metrics', metrics.handler)`. */
  readonly handler: MiddlewareHandler
  /** Collects now and returns the exposition text (what `handler` answers with). */
  scrape(): Promise<string>
}

/** The exposition could not be produced (the reader is in no `MeterProvider`, or was shut down). */
export class ScrapeError extends Error {
  override readonly name = 'ScrapeError'
}

/**
 * A Prometheus `/metrics` endpoint served by the app itself, on Node, Deno and Bun: the
 * OpenTelemetry Prometheus exporter's reader and serializer (no registry of edgeio's own),
 * behind a handler that answers `GET`/`HEAD` with the text format and refuses clients other
 * than loopback unless a `token` or `allow` says otherwise.
 *
 * @example
 * ```ts
 * import { metrics as otelMetrics } from '@opentelemetry/api'
 * import { MeterProvider } from '@opentelemetry/sdk-metrics'
 * import { prometheusMetrics } from 'edgeio/prometheus'
 *
 * const metrics = prometheusMetrics({ token: process.env.METRICS_TOKEN })
 * otelMetrics.setGlobalMeterProvider(new MeterProvider({ readers: [metrics.reader] }))
 * app.get('/metrics', metrics.handler)
 * ```
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const { token, timeoutMs = 10_000 } = options
  if (token === '') throw new RangeError('prometheusMetrics: token must not be empty')
  if (!(timeoutMs > 0)) throw new RangeError('prometheusMetrics: timeoutMs must be > 0')
  const allow = options.allow ?? (token === undefined ? 'loopback' : 'any')
  const clientAddressOptions: ClientAddressOptions = { trustProxy: options.trustProxy ?? false }
  // host and port are given so that the exporter reads no OTEL_EXPORTER_PROMETHEUS_* variable
  // (Deno asks for env permission); its server is created but never listens.
  const reader = new PrometheusExporter({
    preventServerStart: true,
    host: '127.0.0.1',
    port: 9464,
  })
  const serializer = new PrometheusSerializer(
    options.prefix,
    false,
    options.withResourceConstantLabels,
    options.withoutTargetInfo,
    options.withoutScopeInfo
  )

  async function scrape(): Promise<string> {
    let collected: Awaited<ReturnType<PrometheusExporter['collect']>>
    try {
      collected = await reader.collect({ timeoutMillis: timeoutMs })
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const hint = /not bound/i.test(message)
        ? ' (give metrics.reader to a MeterProvider: new MeterProvider({ readers: [metrics.reader] }))'
        : ''
      throw new ScrapeError(`metrics collection failed: ${message}${hint}`, { cause: error })
    }
    // A failing observable callback costs its own series only, as with the exporter's server.
    if (collected.errors.length > 0) {
      diag.error('edgeio/prometheus: metrics collection errors', ...collected.errors)
    }
    const text = serializer.serialize(collected.resourceMetrics)
    // With no metric, the exporter ends on a comment without its `\n`, which Prometheus's
    // text parser refuses ("unexpected end of input stream"): every line must end with one.
    return text.endsWith('\n') ? text : `${text}\n`
  }

  const handler: MiddlewareHandler = async function prometheusMetrics(c: Context) {
    const method = c.req.method
    if (method !== 'GET' && method !== 'HEAD') {
      return c.json({ error: 'Method Not Allowed' }, 405, { allow: 'GET, HEAD' })
    }
    const refused = await refusal(c, allow, token, clientAddressOptions)
    if (refused === 'unauthorized') {
      return c.json({ error: 'Unauthorized' }, 401, {
        'www-authenticate': 'Bearer realm="metrics"',
      })
    }
    if (refused === 'forbidden') return c.json({ error: 'Forbidden' }, 403)
    const headers = { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' }
    if (method === 'HEAD') return new Response(null, { headers })
    try {
      return new Response(await scrape(), { headers })
    } catch (error) {
      // A failed scrape must fail (up == 0), not pass for a target with no series.
      if (!(error instanceof ScrapeError)) throw error
      return c.json({ error: `Internal Server Error: ${error.message}` }, 500)
    }
  }

  return { reader, handler, scrape }
}
