/**
 * `/metrics` served for real by edgeio/node, edgeio/deno and edgeio/bun (the same fixture
 * app, one process each on an ephemeral loopback port), scraped over HTTP with fetch; and
 * the separate-listener setup (the metrics on a second, loopback-only port of one process).
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { serve } from '../../adapters/node/index.ts'
import { PROMETHEUS_CONTENT_TYPE, prometheusMetrics } from '../../prometheus/index.ts'
import { Service } from '../../src/index.ts'
import { type ServerProcess, spawnServer, stopServer } from '../../testing/index.ts'
import { root, runtimeCommand } from '../conformance/spawn.ts'
import { parseExposition, sampleValue } from './exposition.ts'

const commands = {
  node: runtimeCommand('node', 'test/prometheus/fixtures/node.ts'),
  deno: runtimeCommand('deno', 'test/prometheus/fixtures/deno.ts'),
  bun: runtimeCommand('bun', 'test/prometheus/fixtures/bun.ts'),
}

describe.each(Object.keys(commands) as (keyof typeof commands)[])('on %s', (runtime) => {
  let server: ServerProcess
  beforeAll(async () => {
    const [command, ...args] = commands[runtime]
    server = await spawnServer(command, args, { cwd: root })
  }, 60_000)
  afterAll(async () => {
    if (server) await stopServer(server)
  })
  const url = (path: string) => new URL(path, server.url).href

  test('a scrape shows the calls made so far, twice, in the text format', async () => {
    const work = (route: string, seconds: number) =>
      fetch(url(`/work/${route}?seconds=${seconds}`), { method: 'POST' })
    for (const [route, seconds] of [
      ['a', 0.005],
      ['a', 0.5],
      ['b', 2],
    ] as const) {
      expect((await work(route, seconds)).status).toBe(204)
    }
    const first = await fetch(url('/metrics'))
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
    const families = parseExposition(await first.text())
    expect(sampleValue(families, 'fixture_calls_total', { route: 'a' })).toBe(2)
    expect(sampleValue(families, 'fixture_calls_total', { route: 'b' })).toBe(1)
    const bucket = (le: string) =>
      sampleValue(
        families,
        'fixture_call_duration',
        { route: 'a', le },
        'fixture_call_duration_bucket'
      )
    expect([bucket('0.01'), bucket('0.1'), bucket('1'), bucket('+Inf')]).toEqual([1, 1, 2, 2])
    expect(families.get('fixture_calls_total')?.help).toBe('Calls by route')

    await work('b', 0)
    const second = parseExposition(await (await fetch(url('/metrics'))).text())
    expect(sampleValue(second, 'fixture_calls_total', { route: 'b' })).toBe(2)
  })

  test('HEAD answers the headers; a forwarded request is refused by default', async () => {
    const head = await fetch(url('/metrics'), { method: 'HEAD' })
    expect([head.status, head.headers.get('content-type')]).toEqual([200, PROMETHEUS_CONTENT_TYPE])
    const forwarded = await fetch(url('/metrics'), { headers: { 'x-forwarded-for': '1.2.3.4' } })
    expect(forwarded.status).toBe(403)
  })
})

test('a separate listener: the app on one port, the metrics on a loopback-only other', async () => {
  const metrics = prometheusMetrics()
  const provider = new MeterProvider({ readers: [metrics.reader] })
  const requests = provider.getMeter('app').createCounter('requests')
  const app = new Hono().get('/', (c) => {
    requests.add(1)
    return c.text('ok')
  })
  const admin = new Hono().get('/metrics', metrics.handler)
  const service = await serve(new Service(app), { port: 0, signals: false })
  const scrapes = await serve(new Service(admin), {
    hostname: '127.0.0.1',
    port: 0,
    signals: false,
  })
  try {
    await (await fetch(service.url)).text()
    expect((await fetch(new URL('/metrics', service.url))).status).toBe(404)
    const text = await (await fetch(new URL('/metrics', scrapes.url))).text()
    expect(sampleValue(parseExposition(text), 'requests_total')).toBe(1)
  } finally {
    await Promise.all([service.close(), scrapes.close()])
    await provider.shutdown()
  }
})
