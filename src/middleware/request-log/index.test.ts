import { trace } from '@opentelemetry/api'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Hono } from 'hono'
import { afterEach, describe, expect, test } from 'vitest'
import { telemetry } from '../telemetry/index.ts'
import { type RequestLogOptions, type RequestLogRecord, requestLog } from './index.ts'
import { isoTime } from './iso-time.ts'

afterEach(() => {
  trace.disable()
})

/** An app behind requestLog whose lines land in `lines`. */
function logged(options: RequestLogOptions = {}) {
  const lines: string[] = []
  const app = new Hono()
    .onError((_error, c) => c.text('Internal Server Error', 500))
    .use(requestLog({ ...options, sink: (line) => lines.push(line) }))
    .get('/users/:id', (c) => c.json({ id: c.req.param('id'), requestId: c.get('requestId') }))
    .get('/boom', () => {
      throw new Error('boom')
    })
  const records = () => lines.map((line) => JSON.parse(line) as RequestLogRecord)
  return { app, lines, records }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('isoTime', () => {
  test('matches toISOString, within a second and across seconds', () => {
    const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990)
    for (const ms of [0, 999, 1000, start, start + 9, start + 10, start + 1010, 253402300799999]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString())
    }
  })
})

describe('requestLog', () => {
  test('one JSON line per request, with every field, absent ones null', async () => {
    const { app, lines, records } = logged()
    const before = Date.now()
    const res = await app.request('/users/7')
    expect(res.status).toBe(200)
    expect(lines).toHaveLength(1)
    const [record] = records()
    expect(Object.keys(record!)).toEqual([
      'time',
      'method',
      'route',
      'path',
      'status',
      'durationMs',
      'requestId',
      'traceId',
      'clientAddress',
    ])
    expect(record).toMatchObject({
      method: 'GET',
      route: '/users/:id',
      path: '/users/7',
      status: 200,
      traceId: null,
      clientAddress: null, // app.request(): no server, no trusted proxy header
    })
    expect(Date.parse(record!.time)).toBeGreaterThanOrEqual(before - 1)
    expect(record!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(record!.durationMs).toBeGreaterThanOrEqual(0)
    expect(record!.requestId).toMatch(UUID)
  })

  test('the id is on the response header and on c', async () => {
    const { app, records } = logged()
    const res = await app.request('/users/7')
    const body = (await res.json()) as { requestId: string }
    const id = records()[0]!.requestId
    expect(res.headers.get('x-request-id')).toBe(id)
    expect(body.requestId).toBe(id)
  })

  test('a valid incoming id is kept, in the configured header', async () => {
    const { app, records } = logged({ header: 'X-Correlation-Id' })
    const res = await app.request('/users/7', {
      headers: { 'x-correlation-id': 'edge:7f3a/42-b.c_d~e+f=' },
    })
    expect(res.headers.get('x-correlation-id')).toBe('edge:7f3a/42-b.c_d~e+f=')
    expect(records()[0]!.requestId).toBe('edge:7f3a/42-b.c_d~e+f=')
  })

  test('an invalid incoming id is replaced: bad characters, or too long', async () => {
    const { app, records } = logged({ maxIdLength: 16, generateId: () => 'fresh' })
    for (const bad of ['"}, "status": 200', 'a b', 'x'.repeat(17), '']) {
      const res = await app.request('/users/7', { headers: { 'x-request-id': bad } })
      expect(res.headers.get('x-request-id')).toBe('fresh')
    }
    expect(records().map((r) => r.requestId)).toEqual(['fresh', 'fresh', 'fresh', 'fresh'])
    const ok = await app.request('/users/7', { headers: { 'x-request-id': 'x'.repeat(16) } })
    expect(ok.headers.get('x-request-id')).toBe('x'.repeat(16))
  })

  test('a 404 has no route; a thrown error logs its 500', async () => {
    const { app, records } = logged()
    await app.request('/nowhere')
    await app.request('/boom')
    expect(records().map((r) => [r.route, r.status])).toEqual([
      [null, 404],
      ['/boom', 500],
    ])
  })

  test('the client address follows clientAddress and trustProxy', async () => {
    const { app, records } = logged({ trustProxy: 1 })
    await app.request('/users/7', { headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' } })
    expect(records()[0]!.clientAddress).toBe('10.0.0.2')
  })

  test('a response with immutable headers still gets the id', async () => {
    const lines: string[] = []
    const frozen = Response.redirect('https://example.com/', 302) // its headers are immutable
    const app = new Hono()
      .use(requestLog({ sink: (line) => lines.push(line), generateId: () => 'id-1' }))
      .get('/', () => frozen)
    const res = await app.request('/')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('https://example.com/')
    expect(res.headers.get('x-request-id')).toBe('id-1')
  })

  test("under telemetry, the line carries the request span's trace id", async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    })
    const lines: string[] = []
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider }))
      .use(requestLog({ sink: (line) => lines.push(line) }))
      .get('/', (c) => c.text('ok'))
    await app.request('/')
    const record = JSON.parse(lines[0]!) as RequestLogRecord
    const [span] = exporter.getFinishedSpans()
    expect(record.traceId).toBe(span!.spanContext().traceId)
    expect(record.traceId).toMatch(/^[0-9a-f]{32}$/)
  })

  test('with telemetry but no SDK, the trace id is null', async () => {
    const lines: string[] = []
    const app = new Hono()
      .use(telemetry(), requestLog({ sink: (line) => lines.push(line) }))
      .get('/', (c) => c.text('ok'))
    await app.request('/')
    expect((JSON.parse(lines[0]!) as RequestLogRecord).traceId).toBeNull()
  })
})
