/**
 * What one scrape costs with ~50 series: 20 counter and 20 gauge streams and 10 histogram
 * streams (each 14 buckets plus `_sum` and `_count`). Prints the median and p99 of
 * `metrics.scrape()` (collect + serialize) and of a whole `GET /metrics` through
 * edgeio/node on loopback. Run: `node test/prometheus/measure-scrape.ts`.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { Hono } from 'hono'
import { serve } from '../../adapters/node/index.ts'
import { prometheusMetrics } from '../../prometheus/index.ts'
import { Service } from '../../src/index.ts'

const ROUNDS = 2_000
const metrics = prometheusMetrics()
const provider = new MeterProvider({ readers: [metrics.reader] })
const meter = provider.getMeter('edgeio', '0.1.0')
const calls = meter.createCounter('edgeio.rate_limit.decisions')
const depth = meter.createUpDownCounter('edgeio.queue.depth')
const waits = meter.createHistogram('edgeio.wait.duration', {
  unit: 's',
  advice: {
    explicitBucketBoundaries: [
      0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5,
    ],
  },
})
for (let i = 0; i < 20; i++) {
  calls.add(i + 1, { route: `/r${i}`, decision: 'admit' })
  depth.add(i, { queue: `q${i}` })
}
for (let i = 0; i < 10; i++) {
  for (let j = 0; j < 100; j++) waits.record(j / 100, { 'edgeio.primitive.name': `p${i}` })
}

function summary(label: string, samples: number[]): void {
  samples.sort((a, b) => a - b)
  const at = (q: number) => (samples[Math.floor(q * (samples.length - 1))] as number).toFixed(3)
  console.log(`${label}: median ${at(0.5)} ms, p99 ${at(0.99)} ms (${samples.length} rounds)`)
}

const text = await metrics.scrape()
const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length
console.log(`exposition: ${lines} sample lines, ${text.length} bytes`)

for (let i = 0; i < 200; i++) await metrics.scrape()
const direct: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  const start = performance.now()
  await metrics.scrape()
  direct.push(performance.now() - start)
}
summary('metrics.scrape()', direct)

const app = new Hono().get('/metrics', metrics.handler)
const server = await serve(new Service(app), { port: 0, signals: false })
const url = new URL('/metrics', server.url)
for (let i = 0; i < 200; i++) await (await fetch(url)).text()
const http: number[] = []
for (let i = 0; i < ROUNDS; i++) {
  const start = performance.now()
  await (await fetch(url)).text()
  http.push(performance.now() - start)
}
summary('GET /metrics (edgeio/node, fetch on loopback)', http)
await server.close()
await provider.shutdown()
