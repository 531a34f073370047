/**
 * `prometheusMetrics()`: what a scrape shows for metrics recorded through a MeterProvider,
 * in a format that passes the text format's rules, and who may scrape (loopback by default,
 * a bearer token, `allow`), on a Hono app and behind edgeio/node's real server.
 */
import { networkInterfaces } from 'node:os'
import type { Counter, Histogram, Meter } from '@opentelemetry/api'
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import fc from 'fast-check'
import { Hono } from 'hono'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { serve } from '../../adapters/node/index.ts'
import {
  isLoopback,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusMetrics,
  type PrometheusMetricsOptions,
  prometheusMetrics,
  ScrapeError,
} from '../../prometheus/index.ts'
import { type ServerHandle, Service } from '../../src/index.ts'
import { parseExposition, sampleValue } from './exposition.ts'

interface Setup {
  metrics: PrometheusMetrics
  provider: MeterProvider
  meter: Meter
  app: Hono
}

const providers: MeterProvider[] = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((provider) => provider.shutdown()))
})

/** A reader in a provider of its own, shut down after the test (or by the caller: `keep`). */
function setup(options: PrometheusMetricsOptions = { allow: 'any' }, keep = false): Setup {
  const metrics = prometheusMetrics(options)
  const provider = new MeterProvider({ readers: [metrics.reader] })
  if (!keep) providers.push(provider)
  const app = new Hono()
  app.get('/metrics', metrics.handler)
  return { metrics, provider, meter: provider.getMeter('edgeio', '0.1.0'), app }
}

async function scrapeOf(app: Hono, init?: RequestInit) {
  const response = await app.request('/metrics', init)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
  const text = await response.text()
  return { text, families: parseExposition(text) }
}

describe('the scrape', () => {
  test('a counter and a histogram, with HELP/TYPE lines and their values', async () => {
    const { app, meter } = setup()
    const decisions = meter.createCounter('edgeio.rate_limit.decisions', {
      description: 'Rate limit decisions',
    })
    const waits = meter.createHistogram('edgeio.wait.duration', {
      description: 'Time spent waiting',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.005, 0.05, 0.5] },
    })
    decisions.add(3, { decision: 'admit' })
    decisions.add(1, { decision: 'reject' })
    waits.record(0.001, { name: 'db' })
    waits.record(0.02, { name: 'db' })
    waits.record(2, { name: 'db' })

    const { text, families } = await scrapeOf(app)
    expect(text).toContain('# HELP edgeio_rate_limit_decisions_total Rate limit decisions\n')
    expect(text).toContain('# TYPE edgeio_rate_limit_decisions_total counter\n')
    expect(text).toContain('# TYPE edgeio_wait_duration histogram\n')
    expect(sampleValue(families, 'edgeio_rate_limit_decisions_total', { decision: 'admit' })).toBe(
      3
    )
    expect(sampleValue(families, 'edgeio_rate_limit_decisions_total', { decision: 'reject' })).toBe(
      1
    )
    const bucket = (le: string) =>
      sampleValue(
        families,
        'edgeio_wait_duration',
        { name: 'db', le },
        'edgeio_wait_duration_bucket'
      )
    expect([bucket('0.005'), bucket('0.05'), bucket('0.5'), bucket('+Inf')]).toEqual([1, 2, 2, 3])
    expect(
      sampleValue(families, 'edgeio_wait_duration', { name: 'db' }, 'edgeio_wait_duration_count')
    ).toBe(3)
    expect(
      sampleValue(families, 'edgeio_wait_duration', { name: 'db' }, 'edgeio_wait_duration_sum')
    ).toBeCloseTo(2.021)
    // The meter's scope is on every series, the resource on target_info.
    expect(families.get('edgeio_rate_limit_decisions_total')?.samples[0]?.labels).toMatchObject({
      otel_scope_name: 'edgeio',
      otel_scope_version: '0.1.0',
    })
    expect(families.get('target_info')?.type).toBe('gauge')
  })

  test('a second scrape shows the cumulative values since the start', async () => {
    const { app, meter } = setup()
    const counter = meter.createCounter('jobs.retried')
    counter.add(2)
    expect(sampleValue((await scrapeOf(app)).families, 'jobs_retried_total')).toBe(2)
    counter.add(5)
    expect(sampleValue((await scrapeOf(app)).families, 'jobs_retried_total')).toBe(7)
    expect(sampleValue((await scrapeOf(app)).families, 'jobs_retried_total')).toBe(7)
  })

  test('up-down counters and observable gauges are gauges; label values are escaped', async () => {
    const { app, meter } = setup()
    meter.createUpDownCounter('queue.depth').add(4, { path: 'a"b\\c\nd' })
    meter.createObservableGauge('pool.idle').addCallback((result) => result.observe(2.5))
    const { families } = await scrapeOf(app)
    expect(families.get('queue_depth')?.type).toBe('gauge')
    expect(sampleValue(families, 'queue_depth', { path: 'a"b\\c\nd' })).toBe(4)
    expect(sampleValue(families, 'pool_idle')).toBe(2.5)
  })

  test('with no metric yet: target_info alone, every line ending with \\n', async () => {
    const { app } = setup()
    const { text, families } = await scrapeOf(app)
    expect(text.endsWith('\n')).toBe(true)
    expect([...families.keys()]).toEqual(['target_info'])
  })

  test('options reach the serializer: prefix, no scope labels, no target_info', async () => {
    const { app, meter } = setup({
      allow: 'any',
      prefix: 'svc',
      withoutScopeInfo: true,
      withoutTargetInfo: true,
    })
    meter.createCounter('hits').add(1)
    const { families } = await scrapeOf(app)
    expect([...families.keys()]).toEqual(['svc_hits_total'])
    expect(families.get('svc_hits_total')?.samples[0]?.labels).toEqual({})
  })

  test('HEAD: 200 with the content type and no body', async () => {
    const { app } = setup()
    const response = await app.request('/metrics', { method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
    expect(await response.text()).toBe('')
  })

  test('other methods: 405 with Allow', async () => {
    const { metrics } = setup()
    const app = new Hono().all('/metrics', metrics.handler)
    const response = await app.request('/metrics', { method: 'POST' })
    expect(response.status).toBe(405)
    expect(response.headers.get('allow')).toBe('GET, HEAD')
  })

  test('a reader in no MeterProvider: 500 naming the fix, and scrape() rejects', async () => {
    const metrics = prometheusMetrics({ allow: 'any' })
    const app = new Hono().get('/metrics', metrics.handler)
    const response = await app.request('/metrics')
    expect(response.status).toBe(500)
    expect(((await response.json()) as { error: string }).error).toContain(
      'new MeterProvider({ readers: [metrics.reader] })'
    )
    await expect(metrics.scrape()).rejects.toBeInstanceOf(ScrapeError)
  })

  test('a failing observable callback costs its own series only', async () => {
    const { app, meter } = setup()
    meter.createCounter('ok').add(1)
    meter.createObservableGauge('broken').addCallback(() => {
      throw new Error('boom')
    })
    const { families } = await scrapeOf(app)
    expect(sampleValue(families, 'ok_total')).toBe(1)
    expect(families.has('broken')).toBe(false)
  })

  test('an observable callback slower than timeoutMs: the scrape answers without it', async () => {
    const { app, meter } = setup({ allow: 'any', timeoutMs: 50 })
    meter.createCounter('ok').add(1)
    meter.createObservableGauge('stuck').addCallback(() => new Promise<void>(() => {}))
    const { families } = await scrapeOf(app)
    expect(sampleValue(families, 'ok_total')).toBe(1)
    expect(families.has('stuck')).toBe(false)
  })

  test('bad options are refused', () => {
    expect(() => prometheusMetrics({ token: '' })).toThrow(RangeError)
    expect(() => prometheusMetrics({ timeoutMs: 0 })).toThrow(RangeError)
  })
})

describe('property: any sequence of recordings scrapes to valid text with the model’s values', () => {
  const route = fc.constantFrom('/a', '/b', '/c"\\\n')
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), route, n: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({
      kind: fc.constant('record' as const),
      route,
      seconds: fc.double({ min: 0, max: 20, noNaN: true }),
    }),
    fc.constant({ kind: 'scrape' as const })
  )

  test('counters and histogram counts match after every scrape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const { app, meter } = setup()
        const counter: Counter = meter.createCounter('calls')
        const histogram: Histogram = meter.createHistogram('call.duration', {
          unit: 's',
          advice: { explicitBucketBoundaries: [0.1, 1, 10] },
        })
        const sums = new Map<string, number>()
        const counts = new Map<string, number>()
        const check = async () => {
          const { families } = await scrapeOf(app)
          for (const [r, sum] of sums)
            expect(sampleValue(families, 'calls_total', { route: r })).toBe(sum)
          for (const [r, count] of counts) {
            expect(
              sampleValue(
                families,
                'call_duration',
                { route: r, le: '+Inf' },
                'call_duration_bucket'
              )
            ).toBe(count)
          }
        }
        for (const step of ops) {
          if (step.kind === 'add') {
            counter.add(step.n, { route: step.route })
            sums.set(step.route, (sums.get(step.route) ?? 0) + step.n)
          } else if (step.kind === 'record') {
            histogram.record(step.seconds, { route: step.route })
            counts.set(step.route, (counts.get(step.route) ?? 0) + 1)
          } else {
            await check()
          }
        }
        await check()
      }),
      { numRuns: 60 }
    )
  })
})

describe('who may scrape', () => {
  test('token: none or a wrong one is 401 with WWW-Authenticate, the right one 200', async () => {
    const { app } = setup({ token: 's3cret' })
    for (const authorization of [undefined, 'Bearer wrong', 'Basic s3cret', 'Bearer']) {
      const response = await app.request('/metrics', {
        headers: authorization ? { authorization } : {},
      })
      expect(response.status, String(authorization)).toBe(401)
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"')
    }
    await scrapeOf(app, { headers: { authorization: 'Bearer s3cret' } })
    await scrapeOf(app, { headers: { authorization: 'bearer s3cret' } })
  })

  test('default (loopback) with no client address known (no edgeio adapter): 403', async () => {
    const { app } = setup({})
    expect((await app.request('/metrics')).status).toBe(403)
  })

  test('allow as a function decides per request', async () => {
    const { app } = setup({ allow: (c) => c.req.header('x-scraper') === 'yes' })
    expect((await app.request('/metrics')).status).toBe(403)
    await scrapeOf(app, { headers: { 'x-scraper': 'yes' } })
  })

  test('isLoopback', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.0.0.1']) {
      expect(isLoopback(ip), ip).toBe(true)
    }
    for (const ip of [undefined, '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '::2', '1127.0.0.1']) {
      expect(isLoopback(ip), String(ip)).toBe(false)
    }
  })
})

/** This machine's first non-loopback IPv4 address, to reach a server from off loopback. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address

describe('behind edgeio/node on a real socket', () => {
  let server: ServerHandle
  let trusting: ServerHandle
  const plain = setup({}, true)
  const proxied = setup({ trustProxy: 1 }, true)
  beforeAll(async () => {
    plain.meter.createCounter('hits').add(1)
    // All interfaces, so that the test can also come from a non-loopback address.
    server = await serve(new Service(plain.app), { hostname: '0.0.0.0', port: 0, signals: false })
    trusting = await serve(new Service(proxied.app), { port: 0, signals: false })
  })
  afterAll(async () => {
    await Promise.all([server?.close(), trusting?.close()])
    await Promise.all([plain.provider.shutdown(), proxied.provider.shutdown()])
  })
  const at = (handle: ServerHandle, host = '127.0.0.1') => `http://${host}:${handle.port}/metrics`

  test('from loopback: 200 and the series', async () => {
    const response = await fetch(at(server))
    expect(response.status).toBe(200)
    expect(sampleValue(parseExposition(await response.text()), 'hits_total')).toBe(1)
  })

  test('from loopback, but forwarded by a proxy (X-Forwarded-For, Forwarded, X-Real-IP): 403', async () => {
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const response = await fetch(at(server), { headers: { [header]: '127.0.0.1' } })
      expect(response.status, header).toBe(403)
    }
  })

  test.skipIf(external === undefined)(`from ${external}, not loopback: 403`, async () => {
    expect((await fetch(at(server, external))).status).toBe(403)
  })

  test('trustProxy: the address from X-Forwarded-For decides', async () => {
    const from = (ip: string) => fetch(at(trusting), { headers: { 'x-forwarded-for': ip } })
    expect((await from('127.0.0.1')).status).toBe(200)
    expect((await from('203.0.113.9')).status).toBe(403)
  })
})
