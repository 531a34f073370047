/**
 * Traces of the example service, as a real OTLP collector would receive them: each runner
 * starts the stand-in (./otlp-collector.ts) and gives its URL to the example as
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, so these cases see what the example's SDK exported (the
 * official OTLP/HTTP exporter: `fetch` on workerd, `node:http` elsewhere). Every request
 * carries a W3C `traceparent` of its own: its trace id finds its spans among all the
 * suite's, and the server span must continue it.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import {
  ATTR_CONCURRENCY_LIMIT_OUTCOME,
  ATTR_DEADLINE_EXPIRED,
  ATTR_PRIMITIVE,
  ATTR_PRIMITIVE_NAME,
  ATTR_RATE_LIMIT_OUTCOME,
  ATTR_WAIT_OUTCOME,
  waitSpanName,
} from '../../src/telemetry/names.ts'
import { type Client, eventually, type Runtime } from './client.ts'
import { getFrom, uniqueAddress } from './identities.ts'
import type { CollectedSpan, OtlpCollector } from './otlp-collector.ts'

const SERVER = 2
const INTERNAL = 1

/** A fresh trace to continue: the `traceparent` header and the ids in it. */
export function newTrace(): { traceId: string; parentId: string; headers: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex')
  const parentId = randomBytes(8).toString('hex')
  return { traceId, parentId, headers: { traceparent: `00-${traceId}-${parentId}-01` } }
}

/** The SERVER span of the trace, once it arrived. */
function serverSpan(spans: readonly CollectedSpan[]): CollectedSpan | undefined {
  return spans.find((span) => span.kind === SERVER)
}

interface TelemetryCase {
  name: string
  skip?: Partial<Record<Runtime, string>>
  run(client: Client, collector: OtlpCollector): Promise<void>
}

let unique = 0
const uniqueKey = (runtime: Runtime) => `${runtime}-${Date.now()}-${++unique}`

const cases: TelemetryCase[] = [
  {
    name: 'a request that does no I/O still exports its server span, continuing the incoming trace',
    async run(client, collector) {
      const { traceId, parentId, headers } = newTrace()
      const res = await client.fetch('/hello/span', { headers })
      expect(await res.text()).toBe('Hello, span')
      // Well within the batch processor's 5 s on workerd: there only the flush delivers it.
      const spans = await collector.trace(traceId, (s) => serverSpan(s) !== undefined, 2_000)
      const server = serverSpan(spans)
      expect(server).toMatchObject({
        name: 'GET /hello/:name',
        parentSpanId: parentId,
        scope: 'edgeio',
        service: 'edgeio-example',
        attributes: expect.objectContaining({
          'http.request.method': 'GET',
          'http.route': '/hello/:name',
          'url.path': '/hello/span',
          'http.response.status_code': 200,
        }),
      })
    },
  },
  {
    name: 'a wait on a named Semaphore: server span → Semaphore.acquire telemetry, then the handler span, one trace',
    async run(client, collector) {
      const key = uniqueKey(client.runtime)
      const holder = client.fetch(`/telemetry/wait?key=${key}&hold`)
      await eventually(async () => {
        const state = await (await client.fetch(`/telemetry/state?key=${key}`)).json()
        expect(state).toMatchObject({ holding: true })
      })
      const { traceId, parentId, headers } = newTrace()
      const waiter = client.fetch(`/telemetry/wait?key=${key}`, { headers })
      // Parked: the route counts its waiter just before acquire() parks it.
      await eventually(async () => {
        const state = await (await client.fetch(`/telemetry/state?key=${key}`)).json()
        expect(state).toEqual({ holding: true, waiting: 1 })
      })
      const release = await client.fetch(`/telemetry/release?key=${key}`, { method: 'POST' })
      expect(await release.json()).toEqual({ released: true })
      expect(await (await holder).json()).toEqual({ held: true })
      expect(await (await waiter).json()).toEqual({ waited: true })

      const waitName = waitSpanName('Semaphore', 'acquire', 'telemetry')
      const spans = await collector.trace(traceId, (s) => s.length >= 3)
      const server = serverSpan(spans)
      const wait = spans.find((span) => span.name === waitName)
      const work = spans.find((span) => span.name === 'telemetry.work')
      expect(server).toMatchObject({ name: 'GET /telemetry/wait', parentSpanId: parentId })
      expect(wait).toMatchObject({
        kind: INTERNAL,
        parentSpanId: server?.spanId,
        attributes: expect.objectContaining({
          [ATTR_PRIMITIVE]: 'Semaphore',
          [ATTR_PRIMITIVE_NAME]: 'telemetry',
          [ATTR_WAIT_OUTCOME]: 'acquired',
        }),
      })
      // The wait span is never the active one: what the handler does next is its sibling.
      expect(work).toMatchObject({ kind: INTERNAL, parentSpanId: server?.spanId })
      if (!server || !wait || !work) throw new Error('unreachable')
      // The SDK starts each span at Date.now() (whole milliseconds) and ends it a measured
      // duration later: spans of one trace compare to within 1 ms, no finer.
      const ms = 1_000_000n
      expect(wait.startNs + ms).toBeGreaterThanOrEqual(server.startNs)
      expect(work.startNs + ms).toBeGreaterThanOrEqual(wait.endNs)
      expect(server.endNs + ms).toBeGreaterThanOrEqual(work.endNs)
      expect(spans).toHaveLength(3)
    },
  },
  {
    name: 'a 429 from rateLimit: its server span says limited',
    async run(client, collector) {
      const address = uniqueAddress()
      for (let i = 0; i < 3; i++)
        expect((await getFrom(client, address, '/limited')).status).toBe(200)
      const { traceId, headers } = newTrace()
      expect((await getFrom(client, address, '/limited', headers)).status).toBe(429)
      const spans = await collector.trace(traceId, (s) => serverSpan(s) !== undefined)
      expect(serverSpan(spans)?.attributes).toMatchObject({
        'http.response.status_code': 429,
        [ATTR_RATE_LIMIT_OUTCOME]: 'limited',
      })
    },
  },
  {
    name: 'a 503 shed by concurrencyLimit: its server span says shed',
    async run(client, collector) {
      const id = uniqueKey(client.runtime)
      const traces = Array.from({ length: 6 }, () => newTrace())
      const responses = await Promise.all(
        traces.map((t, i) => client.fetch(`/render/${id}-${i}?ms=400`, { headers: t.headers }))
      )
      await Promise.all(responses.map((r) => r.body?.cancel()))
      const shed = responses.findIndex((r) => r.status === 503)
      expect(shed).toBeGreaterThan(-1)
      const spans = await collector.trace(
        traces[shed]?.traceId ?? '',
        (s) => serverSpan(s) !== undefined
      )
      expect(serverSpan(spans)).toMatchObject({
        name: 'GET /render/:id',
        attributes: expect.objectContaining({
          'http.response.status_code': 503,
          'error.type': '503',
          [ATTR_CONCURRENCY_LIMIT_OUTCOME]: 'shed',
        }),
      })
    },
  },
  {
    name: 'a 504 from deadline: its server span says the deadline expired',
    async run(client, collector) {
      const { traceId, headers } = newTrace()
      const res = await client.fetch(`/report?id=${uniqueKey(client.runtime)}&work=20000`, {
        headers,
      })
      expect(res.status).toBe(504)
      await res.body?.cancel()
      const spans = await collector.trace(traceId, (s) => serverSpan(s) !== undefined)
      expect(serverSpan(spans)?.attributes).toMatchObject({
        'http.response.status_code': 504,
        [ATTR_DEADLINE_EXPIRED]: true,
      })
    },
  },
]

/** Registers the telemetry cases against `client`, reading what `collector()` received. */
export function describeTelemetryConformance(client: Client, collector: () => OtlpCollector): void {
  describe(`telemetry [${client.runtime}]`, () => {
    for (const c of cases) {
      const reason = c.skip?.[client.runtime]
      if (reason) test.skip(`${c.name} (skipped on ${client.runtime}: ${reason})`, () => {})
      else test(c.name, () => c.run(client, collector()), 20_000)
    }
  })
}
