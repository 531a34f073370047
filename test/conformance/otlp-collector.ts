import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

// An OTLP/HTTP collector stand-in on a loopback port: the example exports its spans here
// (`OTEL_EXPORTER_OTLP_ENDPOINT`). It takes `POST /v1/traces` in OTLP JSON (what
// @opentelemetry/exporter-trace-otlp-http sends) and keeps the spans, flattened, for the
// test process to read.

/** One span as the collector received it, with its attributes as plain values. */
export interface CollectedSpan {
  readonly traceId: string
  readonly spanId: string
  /** `undefined` for a root span. */
  readonly parentSpanId: string | undefined
  readonly name: string
  /** OTLP's numbering: 1 INTERNAL, 2 SERVER, 3 CLIENT. */
  readonly kind: number
  readonly startNs: bigint
  readonly endNs: bigint
  readonly attributes: Readonly<Record<string, unknown>>
  /** The instrumentation scope's name (`edgeio` for edgeio's spans). */
  readonly scope: string
  /** The resource's `service.name`: which service sent the span. */
  readonly service: string | undefined
}

export interface OtlpCollector {
  /** Its origin, `http://127.0.0.1:port`: the example's `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly url: string
  /** Every span received so far. */
  spans(): readonly CollectedSpan[]
  /**
   * Resolves with the spans of `traceId` once `ready` holds for them: checked at each export
   * that arrives, not by polling. Rejects after `timeoutMs` with what had arrived.
   */
  trace(
    traceId: string,
    ready: (spans: readonly CollectedSpan[]) => boolean,
    timeoutMs?: number
  ): Promise<readonly CollectedSpan[]>
  close(): Promise<void>
}

/** OTLP JSON's AnyValue, as far as span attributes use it. */
interface AnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: string | number
  doubleValue?: number
  arrayValue?: { values?: AnyValue[] }
}

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string | number
  endTimeUnixNano: string | number
  attributes?: { key: string; value: AnyValue }[]
}

interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] }
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[]
  }[]
}

function plain(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plain)
  return undefined
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const received: CollectedSpan[] = []
  const watchers = new Set<() => void>()
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end()
      return
    }
    if (!req.headers['content-type']?.includes('json')) {
      res.writeHead(415).end('OTLP JSON only')
      return
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces
    for (const resource of body.resourceSpans ?? []) {
      const name = resource.resource?.attributes?.find(({ key }) => key === 'service.name')
      const service = name === undefined ? undefined : String(plain(name.value))
      for (const scope of resource.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          received.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            startNs: BigInt(span.startTimeUnixNano),
            endNs: BigInt(span.endTimeUnixNano),
            attributes: Object.fromEntries(
              (span.attributes ?? []).map(({ key, value }) => [key, plain(value)])
            ),
            scope: scope.scope?.name ?? '',
            service,
          })
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    for (const watcher of watchers) watcher()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => received,
    trace(traceId, ready, timeoutMs = 10_000) {
      const of = () => received.filter((span) => span.traceId === traceId)
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!ready(of())) return
          finish()
          resolve(of())
        }
        const timer = setTimeout(() => {
          finish()
          const names = of().map((span) => span.name)
          reject(new Error(`trace ${traceId}: not complete after ${timeoutMs} ms: [${names}]`))
        }, timeoutMs)
        const finish = () => {
          clearTimeout(timer)
          watchers.delete(check)
        }
        watchers.add(check)
        check()
      })
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
