/**
 * CPU per request of telemetry() on Node, in-process: `app.request()` in a loop (one request
 * at a time) against a one-route JSON app, bare, behind a no-op middleware, behind
 * telemetry() with no SDK registered (the API's no-op path, the case that must cost next to
 * nothing), behind telemetry() with an SDK (BasicTracerProvider, SimpleSpanProcessor and an
 * exporter that drops the spans; passed as `tracerProvider`, so the global stays empty for
 * the no-SDK row) and behind requestLog() with a sink that drops the lines.
 *
 * All apps live in one process and run in short alternating blocks (the order rotated every
 * round), each block timed with `process.cpuUsage()`. On a shared machine a neighbour's
 * burst then hits adjacent blocks alike: the per-round ratio against the no-op middleware
 * (the fair baseline: any middleware makes Hono compose the chain) is far steadier than
 * separate runs. The table gives medians over rounds.
 *
 *   node bench/telemetry/index.ts [--rounds 300] [--block 1000]
 */
import { parseArgs } from 'node:util'
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { requestLog, telemetry } from '../../src/index.ts'
import { median } from '../stats.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    block: { type: 'string', default: '1000' },
  },
})
const ROUNDS = Number(values.rounds)
const BLOCK = Number(values.block)

/** Exports nothing: the measurement is the span's bookkeeping, not an exporter's. */
const dropping: SpanExporter = {
  export: (_spans: ReadableSpan[], done) => done({ code: 0 }),
  shutdown: async () => {},
}
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(dropping)] })

const CONFIGS: Record<string, MiddlewareHandler | undefined> = {
  bare: undefined,
  noop: async function noop(_c, next) {
    await next()
  },
  // The same no-op again: how far apart two identical rows land is the method's resolution.
  'noop (control copy)': async function noop(_c, next) {
    await next()
  },
  // What telemetry() pays for `c.set('span', …)` alone: Hono allocates a request's variable
  // map on the first set (shared with any other middleware that sets a variable).
  'noop + c.set': async function noopSet(c, next) {
    c.set('span', undefined)
    await next()
  },
  'telemetry, no SDK': telemetry(),
  'telemetry, SDK': telemetry({ tracerProvider: provider }),
  'requestLog, dropped lines': requestLog({ sink: () => {} }),
}

const apps = new Map(
  Object.entries(CONFIGS).map(([name, middleware]) => {
    const app = new Hono()
    if (middleware) app.use(middleware)
    app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }))
    return [name, app] as const
  })
)

async function run(app: Hono, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await app.request('http://localhost/users/7')
    if (res.status !== 200) throw new Error(`status ${res.status}`)
    await res.arrayBuffer()
  }
}

/** CPU nanoseconds per request over one block. */
async function block(app: Hono): Promise<number> {
  const t0 = process.cpuUsage()
  await run(app, BLOCK)
  const t = process.cpuUsage(t0)
  return ((t.user + t.system) * 1000) / BLOCK
}

for (const app of apps.values()) await run(app, BLOCK * 20) // warm-up
const names = [...apps.keys()]
const samples = new Map<string, number[]>(names.map((name) => [name, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length] as string
    ;(samples.get(name) as number[]).push(await block(apps.get(name) as Hono))
  }
}

const noop = samples.get('noop') as number[]
const vsNoop = (xs: number[]) => xs.map((x, i) => (x / (noop[i] as number) - 1) * 100)
console.log('| configuration | CPU ns/req, median | vs noop, median of rounds (IQR) |')
console.log('| --- | ---: | ---: |')
const quartiles = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const at = (q: number) => (sorted[Math.floor(q * (sorted.length - 1))] as number).toFixed(1)
  return `${median(xs).toFixed(1)} % (${at(0.25)} – ${at(0.75)})`
}
for (const [name, xs] of samples) {
  console.log(
    `| ${name} | ${median(xs).toFixed(0)} | ${name === 'noop' ? '—' : quartiles(vsNoop(xs))} |`
  )
}
console.log(`\n${ROUNDS} rounds of ${BLOCK} requests per configuration, ${process.version}`)

// The middleware alone, called on one real context with a `next` that resolves at once: the
// difference to the no-op middleware is the per-request cost, without the request's noise.
let captured: Context | undefined
await new Hono()
  .use(async (c, next) => {
    captured = c
    await next()
  })
  .get('/users/:id', (c) => c.json({ id: c.req.param('id') }))
  .request('http://localhost/users/7')
const c = captured as Context
const next = () => Promise.resolve()
const CALLS = 200_000
async function calls(middleware: MiddlewareHandler): Promise<number> {
  const t0 = process.cpuUsage()
  for (let i = 0; i < CALLS; i++) await middleware(c, next)
  const t = process.cpuUsage(t0)
  return ((t.user + t.system) * 1000) / CALLS
}
const direct = new Map<string, number[]>()
for (let round = 0; round < 15; round++) {
  for (const [name, middleware] of Object.entries(CONFIGS)) {
    if (!middleware) continue
    const xs = direct.get(name) ?? []
    xs.push(await calls(middleware))
    direct.set(name, xs)
  }
}
const noopCall = median(direct.get('noop') as number[])
console.log('\n| middleware alone | CPU ns/call, median of 15 rounds | minus noop |')
console.log('| --- | ---: | ---: |')
for (const [name, xs] of direct) {
  const own = median(xs)
  console.log(
    `| ${name} | ${own.toFixed(0)} | ${name === 'noop' ? '—' : (own - noopCall).toFixed(0)} |`
  )
}
