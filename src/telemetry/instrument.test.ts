// instrument() with the real OpenTelemetry SDK: the span tree of a request that waits on a
// named Semaphore, the attributes of the middleware's decisions on the request span, and
// the metrics they count.
import { context, metrics, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { Hono } from 'hono'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { coalesce } from '../middleware/coalesce/index.ts'
import { concurrencyLimit } from '../middleware/concurrency-limit/index.ts'
import { deadline } from '../middleware/deadline/index.ts'
import { rateLimit } from '../middleware/rate-limit/index.ts'
import { telemetry } from '../middleware/telemetry/index.ts'
import { Event, Lock, Queue, Semaphore } from '../sync/index.ts'
import { type Instrumented, instrument } from './instrument.ts'
import { currentInstrumentation } from './instrumentation.ts'

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve()
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/**
 * The order spans start and end in. Span times cannot show it: the SDK anchors a span's
 * start on `Date.now()` (whole milliseconds) and its end on `performance.now()`.
 */
class OrderRecorder implements SpanProcessor {
  readonly events: string[] = []
  onStart(span: Span): void {
    this.events.push(`start ${span.name}`)
  }
  onEnd(span: ReadableSpan): void {
    this.events.push(`end ${span.name}`)
  }
  forceFlush(): Promise<void> {
    return Promise.resolve()
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

let exporter: InMemorySpanExporter
let order: OrderRecorder
let tracerProvider: BasicTracerProvider
let reader: TestReader
let meterProvider: MeterProvider
let installed: Instrumented
let contextManager: AsyncLocalStorageContextManager

beforeEach(async () => {
  contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  exporter = new InMemorySpanExporter()
  order = new OrderRecorder()
  tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), order],
  })
  reader = new TestReader({
    aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
  })
  meterProvider = new MeterProvider({ readers: [reader] })
  installed = instrument({ tracerProvider, meterProvider })
  await installed.ready
})

afterEach(() => {
  installed.uninstall()
  context.disable()
  trace.disable()
  metrics.disable()
})

async function points(name: string): Promise<DataPoint<number | Histogram>[]> {
  const { resourceMetrics } = await reader.collect()
  const found = resourceMetrics.scopeMetrics
    .filter((s) => s.scope.name === 'edgeio')
    .flatMap((s) => s.metrics)
    .filter((m) => m.descriptor.name === name)
  return found.flatMap((m) => m.dataPoints as DataPoint<number | Histogram>[])
}

async function sum(name: string, where: Record<string, unknown> = {}): Promise<number> {
  let total = 0
  for (const p of await points(name)) {
    if (Object.entries(where).every(([k, v]) => p.attributes[k] === v)) total += p.value as number
  }
  return total
}

function count(point: DataPoint<number | Histogram> | undefined): number | undefined {
  return point === undefined ? undefined : (point.value as Histogram).count
}

function span(name: string): ReadableSpan {
  const found = exporter.getFinishedSpans().filter((s) => s.name === name)
  expect(found.map((s) => s.name)).toEqual([name])
  return found[0] as ReadableSpan
}

/** Runs until `done()` holds, one macrotask at a time (a request crossing Hono's awaits). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setImmediate(r))
  expect(done()).toBe(true)
}

async function untilAsync(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000 && !(await done()); i++) await new Promise((r) => setImmediate(r))
  expect(await done()).toBe(true)
}

describe('instrument()', () => {
  test('server span → Semaphore.acquire <name> → the span the handler starts next, as a sibling', async () => {
    const db = new Semaphore(1, { name: 'db' })
    const app = new Hono()
      .use(telemetry({ tracerProvider, instrument: false }))
      .get('/q', async (c) => {
        await db.acquire()
        try {
          tracerProvider.getTracer('app').startActiveSpan('query', (s) => s.end())
        } finally {
          db.release()
        }
        return c.text('ok')
      })
    await db.acquire() // held: the request has to wait
    const response = app.request('/q')
    await until(() => db.waiting === 1)
    db.release()
    expect((await response).status).toBe(200)

    const server = span('GET /q')
    const wait = span('Semaphore.acquire db')
    const query = span('query')
    expect(server.kind).toBe(SpanKind.SERVER)
    expect(wait.kind).toBe(SpanKind.INTERNAL)
    expect(wait.parentSpanContext?.spanId).toBe(server.spanContext().spanId)
    expect(query.parentSpanContext?.spanId).toBe(server.spanContext().spanId) // not the wait's
    expect(wait.spanContext().traceId).toBe(server.spanContext().traceId)
    expect(wait.attributes).toEqual({
      'edgeio.primitive': 'Semaphore',
      'edgeio.primitive.name': 'db',
      'edgeio.wait.outcome': 'acquired',
    })
    expect(wait.status.code).toBe(SpanStatusCode.UNSET)
    expect(order.events.indexOf('end Semaphore.acquire db')).toBeGreaterThanOrEqual(0)
    expect(order.events.indexOf('end Semaphore.acquire db')).toBeLessThan(
      order.events.indexOf('start query')
    )

    const [duration] = await points('edgeio.wait.duration')
    expect(duration?.attributes).toEqual({
      'edgeio.primitive': 'Semaphore',
      'edgeio.primitive.name': 'db',
      'edgeio.wait.outcome': 'acquired',
    })
    expect(count(duration)).toBe(1)
  })

  test('an aborted wait: outcome aborted, status not an error; the fast path makes no span', async () => {
    const lock = new Lock({ name: 'cache' })
    const tracer = tracerProvider.getTracer('app')
    await tracer.startActiveSpan('parent', async (parent) => {
      await lock.acquire() // free: nothing recorded
      const c = new AbortController()
      const waiting = lock.acquire({ signal: c.signal })
      c.abort()
      await expect(waiting).rejects.toThrow()
      parent.end()
    })
    const wait = span('Lock.acquire cache')
    expect(wait.attributes['edgeio.wait.outcome']).toBe('aborted')
    expect(wait.status.code).toBe(SpanStatusCode.UNSET)
    expect(exporter.getFinishedSpans()).toHaveLength(2)
    const [p] = await points('edgeio.wait.duration')
    expect(count(p)).toBe(1)
    expect(p?.attributes['edgeio.wait.outcome']).toBe('aborted')
  })

  test('a wait outside any span is measured, not traced (unless rootWaitSpans)', async () => {
    const q = new Queue<number>({ name: 'jobs' })
    const got = q.get()
    q.putNowait(1)
    expect(await got).toBe(1)
    expect(exporter.getFinishedSpans()).toEqual([])
    const [p] = await points('edgeio.wait.duration')
    expect(p?.attributes).toMatchObject({
      'edgeio.primitive': 'Queue',
      'edgeio.wait.outcome': 'acquired',
    })

    installed.uninstall()
    installed = instrument({ tracerProvider, meterProvider, rootWaitSpans: true })
    await installed.ready
    const ready = new Event({ name: 'ready' })
    const waited = ready.wait()
    ready.set()
    await waited
    expect(span('Event.wait ready').parentSpanContext).toBeUndefined()
  })

  test('a 429 and the rate-limit decisions', async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider, instrument: false }))
      .use(rateLimit({ limit: 1, windowMs: 60_000, key: () => 'k' }))
      .get('/', (c) => c.text('ok'))
    expect((await app.request('/')).status).toBe(200)
    expect((await app.request('/')).status).toBe(429)
    const [allowed, limited] = exporter.getFinishedSpans()
    expect(allowed?.attributes['edgeio.rate_limit.outcome']).toBe('allowed')
    expect(limited?.attributes['edgeio.rate_limit.outcome']).toBe('limited')
    expect(limited?.attributes['http.response.status_code']).toBe(429)
    expect(
      await sum('edgeio.rate_limit.decisions', { 'edgeio.rate_limit.outcome': 'allowed' })
    ).toBe(1)
    expect(
      await sum('edgeio.rate_limit.decisions', { 'edgeio.rate_limit.outcome': 'limited' })
    ).toBe(1)
  })

  test('a 503 shed, a queued request and its concurrencyLimit.wait span, the queue depth', async () => {
    const gate = new Event()
    const app = new Hono()
      .use(telemetry({ tracerProvider, instrument: false }))
      .use(concurrencyLimit({ max: 1, maxWaiting: 1, name: 'render' }))
      .get('/', async (c) => {
        await gate.wait()
        return c.text('ok')
      })
    const first = app.request('/')
    await until(() => gate.waiting === 1)
    const second = app.request('/') // waits in line
    await untilAsync(async () => (await sum('edgeio.concurrency_limit.queued')) === 1)
    const third = await app.request('/') // line full: shed
    expect(third.status).toBe(503)
    gate.set()
    expect((await first).status).toBe(200)
    expect((await second).status).toBe(200)

    const [shed] = exporter
      .getFinishedSpans()
      .filter((s) => s.attributes['http.response.status_code'] === 503)
    expect(shed?.attributes).toMatchObject({
      'edgeio.concurrency_limit.outcome': 'shed',
      'edgeio.concurrency_limit.reason': 'busy',
    })
    const wait = span('concurrencyLimit.wait render')
    const queued = exporter
      .getFinishedSpans()
      .find((s) => s.attributes['edgeio.concurrency_limit.outcome'] === 'queued')
    expect(wait.parentSpanContext?.spanId).toBe(queued?.spanContext().spanId)
    expect(wait.attributes).toEqual({
      'edgeio.primitive': 'concurrencyLimit',
      'edgeio.primitive.name': 'render',
      'edgeio.wait.outcome': 'acquired',
    })
    expect(
      await sum('edgeio.concurrency_limit.shed', { 'edgeio.concurrency_limit.reason': 'busy' })
    ).toBe(1)
    expect(await sum('edgeio.concurrency_limit.queued')).toBe(0)
  })

  test('a 504: deadline expired on the request span and counted', async () => {
    const app = new Hono()
      .use(telemetry({ tracerProvider, instrument: false }))
      .use(deadline({ ms: 5 }))
      .get('/', async (c) => {
        const signal = c.get('signal')
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
        return c.text('late')
      })
    expect((await app.request('/')).status).toBe(504)
    const [server] = exporter.getFinishedSpans()
    expect(server?.attributes['edgeio.deadline.expired']).toBe(true)
    expect(await sum('edgeio.deadline.expired')).toBe(1)
  })

  test('a coalesce hit: counted, and the follower span says so', async () => {
    const gate = new Event()
    let runs = 0
    const app = new Hono()
      .use(telemetry({ tracerProvider, instrument: false }))
      .use(coalesce())
      .get('/prices', async (c) => {
        runs++
        await gate.wait()
        return c.json({ price: 1 })
      })
    const leader = app.request('/prices')
    await until(() => gate.waiting === 1)
    const follower = app.request('/prices')
    await untilAsync(async () => (await sum('edgeio.coalesce.hits')) === 1)
    gate.set()
    expect((await leader).status).toBe(200)
    expect((await follower).status).toBe(200)
    expect(runs).toBe(1)
    const roles = exporter.getFinishedSpans().map((s) => s.attributes['edgeio.coalesce.role'])
    expect(roles.sort()).toEqual(['follower', undefined])
  })

  test('global providers: nothing observed before an SDK registers, reported after', async () => {
    installed.uninstall()
    installed = instrument() // the global providers, none registered yet
    await installed.ready
    const tracer = tracerProvider.getTracer('app')
    const lock = new Lock({ name: 'late' })
    const contendedWait = async (): Promise<void> => {
      await tracer.startActiveSpan('parent', async (parent) => {
        await lock.acquire()
        const waiting = lock.acquire()
        lock.release()
        await waiting
        lock.release()
        parent.end()
      })
    }
    await contendedWait()
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['parent'])
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true)
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true)
    await contendedWait()
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([
      'parent',
      'Lock.acquire late',
      'parent',
    ])
    expect(count((await points('edgeio.wait.duration'))[0])).toBe(1)
  })

  test('uninstall stops reporting; a second instrument() is ready at once', async () => {
    expect(currentInstrumentation()).toBeDefined()
    installed.uninstall()
    expect(currentInstrumentation()).toBeUndefined()
    const lock = new Lock({ name: 'x' })
    await lock.acquire()
    const waiting = lock.acquire()
    lock.release()
    await waiting
    expect(await points('edgeio.wait.duration')).toEqual([])
    installed = instrument({ tracerProvider, meterProvider })
    expect(currentInstrumentation()).toBeDefined() // the API is loaded already
  })
})
