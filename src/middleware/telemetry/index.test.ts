import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Hono } from 'hono'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { WaitUntilTracker } from '../../lifecycle/wait-until.ts'
import { streamText } from '../../streaming/index.ts'
import { Semaphore } from '../../sync/index.ts'
import { currentInstrumentation, instrument, setInstrumentation } from '../../telemetry/index.ts'
import { rateLimit } from '../rate-limit/index.ts'
import { loadOtel } from './api.ts'
import { telemetry } from './index.ts'

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const PARENT_ID = 'b7ad6b7169203331'

let exporter: InMemorySpanExporter
let provider: BasicTracerProvider

beforeEach(() => {
  exporter = new InMemorySpanExporter()
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
})

afterEach(() => {
  trace.disable()
  propagation.disable()
  context.disable()
})

const only = () => {
  const spans = exporter.getFinishedSpans()
  expect(spans).toHaveLength(1)
  return spans[0]!
}

describe('telemetry', () => {
  test('a 200: one SERVER span named after the route, with the conventional attributes', async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider, tracerName: 'svc', tracerVersion: '1.2.3' }))
      .get('/users/:id', (c) => {
        c.get('span')?.addEvent('loaded')
        return c.json({ id: c.req.param('id') })
      })
    const res = await app.request('http://api.example:8080/users/7?x=1', {
      headers: { 'user-agent': 'test-agent/1' },
    })
    expect(res.status).toBe(200)
    const span = only()
    expect(span.name).toBe('GET /users/:id')
    expect(span.kind).toBe(SpanKind.SERVER)
    expect(span.instrumentationScope).toMatchObject({ name: 'svc', version: '1.2.3' })
    expect(span.attributes).toEqual({
      'http.request.method': 'GET',
      'url.path': '/users/7',
      'url.scheme': 'http',
      'http.route': '/users/:id',
      'server.address': 'api.example',
      'server.port': 8080,
      'user_agent.original': 'test-agent/1',
      'http.response.status_code': 200,
    })
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
    expect(span.parentSpanContext).toBeUndefined()
    expect(span.events.map((e) => e.name)).toEqual(['loaded'])
  })

  test('a 404: no route, so the span is named after the method alone', async () => {
    const app = new Hono().use(telemetry({ tracerProvider: provider })).get('/a', (c) => c.text(''))
    const res = await app.request('https://example.com/nowhere')
    expect(res.status).toBe(404)
    const span = only()
    expect(span.name).toBe('GET')
    expect(span.attributes['http.route']).toBeUndefined()
    expect(span.attributes['http.response.status_code']).toBe(404)
    expect(span.attributes['server.port']).toBe(443)
    expect(span.attributes['error.type']).toBeUndefined()
    expect(span.status.code).toBe(SpanStatusCode.UNSET)
  })

  test('a thrown error: 500, error.type is its class, status ERROR, the exception recorded', async () => {
    const app = new Hono()
      .onError((_error, c) => c.text('Internal Server Error', 500))
      .use(telemetry({ tracerProvider: provider }))
      .post('/boom', () => {
        throw new TypeError('bad input')
      })
    const res = await app.request('/boom', { method: 'POST' })
    expect(res.status).toBe(500)
    const span = only()
    expect(span.name).toBe('POST /boom')
    expect(span.attributes['http.response.status_code']).toBe(500)
    expect(span.attributes['error.type']).toBe('TypeError')
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad input' })
    expect(span.events[0]?.name).toBe('exception')
  })

  test('a 5xx answered without an exception: error.type is the status code', async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider }))
      .get('/down', (c) => c.text('unavailable', 503))
    await app.request('/down')
    const span = only()
    expect(span.attributes['error.type']).toBe('503')
    expect(span.status.code).toBe(SpanStatusCode.ERROR)
  })

  test("a 429 from rateLimit carries the route it guarded and stays the client's error", async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider }))
      .use(rateLimit({ limit: 1, windowMs: 60_000, key: () => 'k' }))
      .get('/limited', (c) => c.text('ok'))
    expect((await app.request('/limited')).status).toBe(200)
    expect((await app.request('/limited')).status).toBe(429)
    const spans = exporter.getFinishedSpans()
    expect(spans.map((s) => s.name)).toEqual(['GET /limited', 'GET /limited'])
    expect(spans[1]?.attributes['http.response.status_code']).toBe(429)
    expect(spans[1]?.status.code).toBe(SpanStatusCode.UNSET)
  })

  test('an unknown method is _OTHER, with the original kept', async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider }))
      .on('PURGE', '/cache', (c) => c.text(''))
    await app.request('/cache', { method: 'PURGE' })
    const span = only()
    expect(span.name).toBe('HTTP /cache')
    expect(span.attributes['http.request.method']).toBe('_OTHER')
    expect(span.attributes['http.request.method_original']).toBe('PURGE')
  })

  test('the named request and response headers are captured, and only those', async () => {
    const app = new Hono()
      .use(
        telemetry({
          tracerProvider: provider,
          requestHeaders: ['X-Tenant'],
          responseHeaders: ['cache-control'],
        })
      )
      .get('/', (c) => c.text('', 200, { 'cache-control': 'no-store' }))
    await app.request('/', { headers: { 'x-tenant': 'acme', authorization: 'Bearer s3cret' } })
    const span = only()
    expect(span.attributes['http.request.header.x-tenant']).toEqual(['acme'])
    expect(span.attributes['http.response.header.cache-control']).toEqual(['no-store'])
    expect(JSON.stringify(span.attributes)).not.toContain('s3cret')
  })

  test('skip leaves a request untraced, with no span on c', async () => {
    let span: unknown = 'not called'
    const app = new Hono()
      .use(telemetry({ tracerProvider: provider, skip: (c) => c.req.path === '/healthz' }))
      .get('/healthz', (c) => {
        span = c.get('span')
        return c.text('ok')
      })
    expect((await app.request('/healthz')).status).toBe(200)
    expect(span).toBeUndefined()
    expect(exporter.getFinishedSpans()).toHaveLength(0)
  })

  test('an incoming traceparent and tracestate become the parent, through the global propagator', async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    const app = new Hono().use(telemetry({ tracerProvider: provider })).get('/', (c) => c.text(''))
    await app.request('/', {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`, tracestate: 'vendor=opaque' },
    })
    const span = only()
    expect(span.spanContext().traceId).toBe(TRACE_ID)
    expect(span.parentSpanContext).toMatchObject({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      isRemote: true,
    })
    expect(span.spanContext().traceState?.get('vendor')).toBe('opaque')
  })

  test('the rest of the chain runs in the span: spans started in the handler are its children', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    trace.setGlobalTracerProvider(provider)
    let active: unknown
    const app = new Hono().use(telemetry()).get('/', async (c) => {
      active = trace.getActiveSpan()
      await Promise.resolve()
      trace.getTracer('app').startSpan('query').end()
      return c.text('')
    })
    await app.request('/')
    const [child, server] = exporter.getFinishedSpans()
    expect(server?.name).toBe('GET /')
    expect(active).toBe(server)
    expect(child?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId)
    expect(child?.spanContext().traceId).toBe(server?.spanContext().traceId)
  })

  test('reports the waits of named primitives under the request span, unless instrument: false', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    const serve = async (options: { instrument?: boolean }) => {
      const semaphore = new Semaphore(1, { name: 'db' })
      await semaphore.acquire()
      const app = new Hono()
        .use(telemetry({ tracerProvider: provider, ...options }))
        .get('/', async (c) => {
          const waiting = semaphore.acquire() // parks: the permit is held
          semaphore.release()
          await waiting
          return c.text('ok')
        })
      await loadOtel()
      expect(await (await app.request('/')).text()).toBe('ok')
      const spans = exporter.getFinishedSpans()
      exporter.reset()
      return spans
    }
    const previous = setInstrumentation(undefined)
    try {
      const [wait, server] = await serve({})
      expect(wait?.name).toBe('Semaphore.acquire db')
      expect(wait?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId)
      setInstrumentation(undefined)
      expect((await serve({ instrument: false })).map((span) => span.name)).toEqual(['GET /'])
      expect(currentInstrumentation()).toBeUndefined()
    } finally {
      setInstrumentation(previous)
    }
  })

  test("keeps the user's own instrument() call instead of replacing it", async () => {
    await loadOtel()
    const previous = setInstrumentation(undefined)
    try {
      const own = instrument({ tracerProvider: provider })
      const mine = currentInstrumentation() // installed at once: the API is loaded
      expect(mine).toBeDefined()
      telemetry()
      expect(currentInstrumentation()).toBe(mine)
      own.uninstall()
      telemetry()
      expect(currentInstrumentation()).toBeDefined()
      expect(currentInstrumentation()).not.toBe(mine)
    } finally {
      setInstrumentation(previous)
    }
  })

  test('with no SDK registered there is no span, nor an active one, even for an incoming traceparent', async () => {
    let span: unknown = 'not called'
    let active: unknown = 'not called'
    const app = new Hono().use(telemetry()).get('/', (c) => {
      span = c.get('span')
      active = trace.getActiveSpan()
      return c.text('ok')
    })
    const res = await app.request('/', {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` },
    })
    expect(await res.text()).toBe('ok')
    expect(span).toBeUndefined()
    expect(active).toBeUndefined()
  })

  test('an SDK registered after the middleware was built is picked up', async () => {
    const app = new Hono().use(telemetry()).get('/', (c) => c.text(''))
    await app.request('/')
    trace.setGlobalTracerProvider(provider)
    await app.request('/')
    expect(only().name).toBe('GET /')
  })

  test('flush runs in waitUntil, after the response, with the span already ended', async () => {
    const tracker = new WaitUntilTracker()
    const exportedAtFlush: number[] = []
    let answered = false
    const app = new Hono()
      .use(
        telemetry({
          tracerProvider: provider,
          flush: async () => {
            exportedAtFlush.push(exporter.getFinishedSpans().length)
            expect(answered).toBe(true)
          },
        })
      )
      .get('/', (c) => c.text('ok'))
    const res = await app.request('/', {}, {}, tracker)
    answered = true
    expect(res.status).toBe(200)
    expect(tracker.pending).toBe(1)
    await tracker.drain()
    expect(exportedAtFlush).toEqual([1])
  })

  test('a streamed body: the span ends, and flush runs, after the last chunk', async () => {
    const tracker = new WaitUntilTracker()
    let flushedWith: number | undefined
    const app = new Hono()
      .use(
        telemetry({
          tracerProvider: provider,
          flush: async () => {
            flushedWith = exporter.getFinishedSpans().length
          },
        })
      )
      .get('/feed', (c) =>
        streamText(c, async (out) => {
          await out.write('a')
          await out.write('b')
          await out.write('c')
        })
      )
    const res = await app.request('/feed', {}, {}, tracker)
    expect(res.status).toBe(200)
    expect(exporter.getFinishedSpans()).toHaveLength(0) // the body is still to come
    expect(await res.text()).toBe('abc')
    expect(only().attributes['http.response.status_code']).toBe(200)
    await tracker.drain()
    expect(flushedWith).toBe(1)
  })

  test('a streamed body that fails ends the span with the error', async () => {
    const app = new Hono().use(telemetry({ tracerProvider: provider })).get('/feed', (c) =>
      streamText(c, async (out) => {
        await out.write('partial')
        throw new RangeError('feed broke')
      })
    )
    const res = await app.request('/feed')
    await expect(res.text()).rejects.toThrow()
    const span = only()
    expect(span.attributes['error.type']).toBe('RangeError')
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'feed broke' })
  })

  test('a streamed body the client gives up on ends the span too', async () => {
    const app = new Hono().use(telemetry({ tracerProvider: provider })).get('/feed', (c) =>
      streamText(c, async (out) => {
        for (let i = 0; i < 100 && !out.aborted; i++) await out.write(`${i}\n`)
      })
    )
    const res = await app.request('/feed')
    const reader = res.body!.getReader()
    await reader.read()
    await reader.cancel()
    expect(only().name).toBe('GET /feed')
  })
})
