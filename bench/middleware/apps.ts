// The benchmark app, bare or behind one middleware: shared by the HTTP benchmark's server
// (server.ts) and the in-process one (inprocess.ts).
import { Hono, type MiddlewareHandler } from 'hono'
import { coalesce, concurrencyLimit, deadline, rateLimit } from '../../src/index.ts'

export const middleware: Record<string, () => MiddlewareHandler> = {
  // The floor: any middleware at all makes Hono compose the chain, an async function, so
  // the app's answer becomes a promise, which takes @hono/node-server off its fast path for
  // synchronous responses.
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

/** One JSON route, behind the named middleware (`none`: bare). */
export function benchApp(name: string): Hono {
  const app = new Hono()
  const chosen = middleware[name]
  if (chosen) app.use(chosen())
  app.get('/', (c) => c.json({ hello: 'world' }))
  return app
}
