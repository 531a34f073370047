/**
 * Coordination across the whole deployment: a counter incremented under a DistributedLock
 * and a rate limit kept by the coordinator. On Workers the coordinator is the
 * `EdgeioCoordinator` Durable Object (`env.COORDINATOR`, wrangler.toml); on Node and Deno,
 * where one process is the whole deployment, it is an in-process one with the same logic.
 */
import type { Context } from 'hono'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  type CoordinatorNamespace,
  clientAddress,
  createLocalCoordinator,
  DistributedLock,
  DistributedRateLimitStore,
  identity,
  MalformedCredentialsError,
  rateLimit,
} from '../src/index.ts'

type DistributedEnv = { Bindings: { COORDINATOR?: CoordinatorNamespace } }

/** Used where no COORDINATOR binding exists. Creating it starts no timer. */
const local = createLocalCoordinator()

function coordinator(c: Context<DistributedEnv>): CoordinatorNamespace {
  return (c.env as DistributedEnv['Bindings'] | undefined)?.COORDINATOR ?? local
}

export const distributedRoutes = new Hono<DistributedEnv>()

/**
 * Read, wait `?work=ms` (default 1), write: a read-modify-write that loses updates when
 * requests overlap, made exact by the lock. The write carries the lease's fencing token, so
 * a holder whose lease expired mid-way cannot overwrite a later one (409). `?unlocked` skips
 * the lock, to watch updates get lost.
 */
distributedRoutes.post('/counters/:name/increment', async (c) => {
  const name = c.req.param('name')
  const work = Math.min(Number(c.req.query('work') ?? 1) || 0, 1000)
  const binding = coordinator(c)
  const values = binding.get(binding.idFromName(`counter:${name}`))
  const increment = async (token = 0) => {
    const { value } = await values.read(name)
    const next = (typeof value === 'number' ? value : 0) + 1
    await new Promise((resolve) => setTimeout(resolve, work))
    const write = await values.write(name, next, token)
    if (!write.written) {
      throw new HTTPException(409, {
        message: `Conflict: a later holder wrote (fence ${write.fence})`,
      })
    }
    return { name, value: next, token }
  }
  if (c.req.query('unlocked') !== undefined) return c.json(await increment())
  const lock = new DistributedLock(binding, `counter:${name}`)
  // The request's signal: a client that leaves stops waiting, and leaves no waiter behind.
  return c.json(await lock.run(({ token }) => increment(token), { signal: c.req.raw.signal }))
})

distributedRoutes.get('/counters/:name', async (c) => {
  const name = c.req.param('name')
  const binding = coordinator(c)
  const { value, fence } = await binding.get(binding.idFromName(`counter:${name}`)).read(name)
  return c.json({ name, value: typeof value === 'number' ? value : 0, fence })
})

/**
 * Who `/limited` counts: the logged-in user (session or API token), else the client's
 * address. Never a header the client writes unverified: a fresh `X-API-Key` per request
 * would be a fresh quota. A malformed `Authorization` header counts as anonymous.
 */
async function limitKey(c: Context): Promise<string> {
  let user: string | undefined
  try {
    user = await identity(c)
  } catch (error) {
    if (!(error instanceof MalformedCredentialsError)) throw error
  }
  return user === undefined ? `address:${clientAddress(c) ?? 'unknown'}` : `user:${user}`
}

/** Three requests a minute per user (or per address, for anonymous clients), counted by the
 * coordinator: the same limit whichever isolate serves the request. */
distributedRoutes.get(
  '/limited',
  rateLimit({
    limit: 3,
    windowMs: 60_000,
    key: limitKey,
    // Per request, because the binding is.
    store: (c) => new DistributedRateLimitStore(coordinator(c)),
  }),
  (c) => c.json({ ok: true })
)
