import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Hono } from 'hono'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.ts'
import { loadOtel, type OtelApi } from '../../src/middleware/telemetry/api.ts'
import { telemetry } from '../../src/middleware/telemetry/index.ts'
import { startUpstream, type Upstream } from './upstream.ts'

let otel: OtelApi
let upstream: Upstream
/** The `traceparent` of each request the upstream received (undefined when absent). */
let received: (string | undefined)[] = []

beforeAll(async () => {
  // What telemetry() does at app start; the client itself never loads the API.
  otel = await loadOtel()
  upstream = await startUpstream()
})
afterAll(() => upstream.close())
afterEach(() => {
  received = []
  unregister()
})

function register(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  })
  otel.trace.setGlobalTracerProvider(provider)
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  return exporter
}

function unregister(): void {
  otel.trace.disable()
  otel.propagation.disable()
  otel.context.disable()
}

/** Answers 200, recording each request's traceparent. */
function answer(): void {
  upstream.handle((req, res) => {
    received.push(req.headers.traceparent as string | undefined)
    res.end('x')
  })
}

const spanIdOf = (traceparent: string | undefined) => traceparent?.split('-')[2]
const clientSpans = (exporter: InMemorySpanExporter): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.kind === otel.SpanKind.CLIENT)

describe('client trace propagation', () => {
  it('sends a traceparent carrying the CLIENT span, child of the active span', async () => {
    const exporter = register()
    answer()
    const client = createClient()
    const tracer = otel.trace.getTracer('test')
    const url = `${upstream.url}items?token=secret#frag`
    await tracer.startActiveSpan('handler', async (parent) => {
      await (await client.get(url)).text()
      parent.end()
    })
    const [span] = clientSpans(exporter)
    expect(span).toBeDefined()
    const s = span as ReadableSpan
    const handler = exporter.getFinishedSpans().find((x) => x.name === 'handler')
    expect(received).toHaveLength(1)
    expect(spanIdOf(received[0])).toBe(s.spanContext().spanId)
    expect(received[0]?.split('-')[1]).toBe(handler?.spanContext().traceId)
    expect(s.parentSpanContext?.spanId).toBe(handler?.spanContext().spanId)
    expect(s.name).toBe('GET')
    const port = Number(new URL(upstream.url).port)
    expect(s.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.full': `${upstream.origin}/items`,
      'http.response.status_code': 200,
    })
    expect(s.status.code).toBe(otel.SpanStatusCode.UNSET)
  })

  it("under telemetry(), a call through client.for(c) continues the request's trace", async () => {
    const exporter = register()
    answer()
    const client = createClient()
    const app = new Hono()
    app.use(telemetry())
    app.get('/fan-out', async (c) => c.text(await (await client.for(c).get(upstream.url)).text()))
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const res = await app.request('/fan-out', { headers: { traceparent: incoming } })
    expect(await res.text()).toBe('x')
    const server = exporter.getFinishedSpans().find((s) => s.kind === otel.SpanKind.SERVER)
    const [span] = clientSpans(exporter)
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c')
    expect(span?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId)
    expect(spanIdOf(received[0])).toBe(span?.spanContext().spanId)
  })

  it('starts a trace of its own when no span is active', async () => {
    const exporter = register()
    answer()
    await (await createClient().get(upstream.url)).text()
    const [span] = clientSpans(exporter)
    expect(span?.parentSpanContext).toBeUndefined()
    expect(spanIdOf(received[0])).toBe(span?.spanContext().spanId)
  })

  it('a retry is a second span with http.request.resend_count, and its own traceparent', async () => {
    const exporter = register()
    let n = 0
    upstream.handle((req, res) => {
      received.push(req.headers.traceparent as string | undefined)
      res.statusCode = n++ === 0 ? 503 : 200
      res.end('x')
    })
    const client = createClient({ retry: { backoffMs: 1 } })
    const tracer = otel.trace.getTracer('test')
    const parentId = await tracer.startActiveSpan('handler', async (parent) => {
      const res = await client.get(upstream.url)
      expect(res.status).toBe(200)
      await res.text()
      parent.end()
      return parent.spanContext().spanId
    })
    const spans = clientSpans(exporter)
    expect(spans).toHaveLength(2)
    const [first, second] = spans as [ReadableSpan, ReadableSpan]
    expect(first.attributes['http.response.status_code']).toBe(503)
    expect(first.attributes['error.type']).toBe('503')
    expect(first.status.code).toBe(otel.SpanStatusCode.ERROR)
    expect(first.attributes['http.request.resend_count']).toBeUndefined()
    expect(second.attributes['http.request.resend_count']).toBe(1)
    expect(second.attributes['http.response.status_code']).toBe(200)
    expect(received.map(spanIdOf)).toEqual([
      first.spanContext().spanId,
      second.spanContext().spanId,
    ])
    // Both attempts are children of the span that made the call.
    expect(first.spanContext().traceId).toBe(second.spanContext().traceId)
    expect(first.parentSpanContext?.spanId).toBe(parentId)
    expect(second.parentSpanContext?.spanId).toBe(parentId)
  })

  it('keeps a traceparent the caller set', async () => {
    register()
    answer()
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    await (await createClient().get(upstream.url, { headers: { traceparent: own } })).text()
    expect(received).toEqual([own])
  })

  it('a failed attempt records error.type', async () => {
    const exporter = register()
    const client = createClient({ retry: false })
    // Nothing listens on port 1: the connection is refused.
    await expect(client.get('http://127.0.0.1:1/')).rejects.toBeInstanceOf(TypeError)
    const [span] = clientSpans(exporter)
    expect(span?.attributes['error.type']).toBe('TypeError')
    expect(span?.status.code).toBe(otel.SpanStatusCode.ERROR)
  })

  it('with the API loaded but no SDK registered, adds no header', async () => {
    answer()
    const tracer = otel.trace.getTracer('test')
    await tracer.startActiveSpan('handler', async (parent) => {
      await (await createClient().get(upstream.url)).text()
      parent.end()
    })
    expect(received).toEqual([undefined])
  })
})
