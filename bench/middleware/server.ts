// One GET route on edgeio's Node adapter, bare or behind one middleware (MIDDLEWARE env):
// the per-request cost of each middleware, measured by bench/middleware/run.ts.
import { Hono, type MiddlewareHandler } from 'hono'
import { serve } from '../../adapters/node.ts'
import { coalesce, concurrencyLimit, deadline, rateLimit, Service } from '../../src/index.ts'

const middleware: Record<string, () => MiddlewareHandler> = {
  // The floor: any async middleware turns the app's answer into a promise, which takes
  // @hono/node-server off its fast path for synchronous responses.
  noop: () =>
    async function noop(_c, next) {
      await next()
    },
  // Limits far above the load, so the measurement is the bookkeeping, not refusals.
  rateLimit: () => rateLimit({ limit: 1e12, windowMs: 60_000, key: () => 'bench' }),
  concurrencyLimit: () => concurrencyLimit({ max: 1024 }),
  deadline: () => deadline({ ms: 10_000 }),
  // Distinct keys: every request leads its own flight (the no-sharing worst case).
  coalesce: () => {
    let n = 0
    return coalesce({ key: () => String(n++) })
  },
}

const name = process.env.MIDDLEWARE ?? 'none'
const app = new Hono()
const chosen = middleware[name]
if (chosen) app.use(chosen())
app.get('/', (c) => c.json({ hello: 'world' }))

await serve(new Service(app), { port: Number(process.env.PORT) })
console.log('ready')
