/**
 * What the four runtime files share: the echo and upstream services the cases reach through
 * the example, started before the runtime (its bindings name their ports), the example's
 * bindings, and the conformance cases (and the telemetry cases, with their OTLP collector) run
 * on the server `describeRuntimes` starts.
 */
import { afterAll, beforeAll } from 'vitest'
import { describeRuntimes, type TestServiceOptions } from '../../testing/index.ts'
import { describeConformance } from './cases.ts'
import { httpClient, type Runtime, SESSION_SECRET } from './client.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { type OtlpCollector, startOtlpCollector } from './otlp-collector.ts'
import { describeTelemetryConformance } from './telemetry-cases.ts'
import { startUpstreamServer, type UpstreamServer } from './upstream-server.ts'

/** The outside services of one runtime file, once its `beforeAll` ran. */
export interface Peers {
  readonly echo: EchoServer
  readonly upstream: UpstreamServer
  /** Where the example exports its spans (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly collector: OtlpCollector
}

export interface RunnerOptions {
  /** How `describeRuntimes` reaches the example on this runtime (entry, flags, wrangler). */
  service: Omit<TestServiceOptions, 'env'>
  /** Runs once the peers are up, before the runtime starts (to make it trust their CA). */
  trust?: (peers: Peers) => void
  /** Bindings of this runtime only (the CA file, under the name the runtime reads). */
  env?: (peers: Peers) => Record<string, string>
}

/** Registers the conformance suite on `runtime`, with its peers started around it. */
export function describeExampleConformance(runtime: Runtime, options: RunnerOptions): void {
  const token = `${runtime}-conformance-token`
  let peers: Peers | undefined
  const started = (): Peers => {
    if (!peers) throw new Error('the echo and upstream services are not started yet')
    return peers
  }
  beforeAll(async () => {
    const [echo, upstream, collector] = await Promise.all([
      startEchoServer(),
      startUpstreamServer(),
      startOtlpCollector(),
    ])
    peers = { echo, upstream, collector }
    options.trust?.(peers)
  })
  afterAll(async () => {
    peers?.echo.close()
    await peers?.upstream.close()
    await peers?.collector.close()
  })
  describeRuntimes(
    [runtime],
    {
      ...options.service,
      env: async () => {
        const { echo, upstream, collector } = started()
        return {
          API_TOKEN: token,
          LOG_LEVEL: 'silent',
          ECHO_PORT: String(await closedPort()),
          ECHO_FALLBACK_PORT: String(echo.port),
          ECHO_TLS_PORT: String(echo.tlsPort),
          SESSION_SECRET,
          UPSTREAM_URL: upstream.url,
          // Every case runs traced; the telemetry cases read what arrives. A short batch
          // delay on Node, Deno and Bun; workerd keeps the SDK's 5 s, so that only the
          // flush after each response (in waitUntil) can deliver its spans in time.
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          ...(runtime === 'workerd' ? {} : { OTEL_BSP_SCHEDULE_DELAY: '50' }),
          ...options.env?.(started()),
        }
      },
    },
    (server) => {
      const client = httpClient(
        runtime,
        token,
        () => server.url,
        () => started().echo,
        () => started().upstream
      )
      describeConformance(client)
      describeTelemetryConformance(client, () => started().collector)
    }
  )
}
