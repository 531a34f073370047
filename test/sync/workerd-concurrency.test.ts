// Runs the primitives inside real workerd (through wrangler's `unstable_startWorker`), with
// ≥ 10 concurrent requests per primitive sharing module-level primitives.
//
// Why not `@cloudflare/vitest-plugin` with `exports.default.fetch`: the plugin imports the
// worker module for every request through its runner Durable Object, so each request first
// waits on a promise of another context. Measured: there even a waiter that owns a timer
// (the technique that works in workerd under `wrangler dev`) is cancelled
// ("Cannot perform I/O on behalf of a different request (I/O type: RefcountedFulfiller)").
// A real workerd process is the faithful setting.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unstable_startWorker } from 'wrangler'

const N = 10

interface Reply {
  status: number
  body: Record<string, unknown>
}

type Worker = Awaited<ReturnType<typeof unstable_startWorker>>
let worker: Worker

beforeAll(async () => {
  worker = await unstable_startWorker({
    config: new URL('../workerd/sync/wrangler.toml', import.meta.url).pathname,
    dev: { server: { port: 0 }, inspector: false, watch: false, logLevel: 'none' },
  })
  await worker.ready
}, 60_000)

afterAll(async () => {
  await worker?.dispose()
})

async function call(path: string): Promise<Reply> {
  const res = await worker.fetch(`http://sync.test${path}`)
  const text = await res.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    body = { text }
  }
  return { status: res.status, body }
}

/** How many requests found their primitive busy and parked (reset by /config). */
async function parkedCount(): Promise<number> {
  return Number((await call('/state')).body.parked)
}

/** Polls until `n` requests have parked (bounded), so the next step really wakes waiters. */
async function untilParked(n: number): Promise<void> {
  for (let i = 0; i < 500 && (await parkedCount()) < n; i++) {
    // each poll is a request round trip
  }
  expect(await parkedCount()).toBeGreaterThanOrEqual(n)
}

const many = (n: number, path: (i: number) => string): Promise<Reply[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => call(path(i))))

describe('primitives shared by concurrent requests in workerd (keep-alive timers on)', () => {
  it('detects workerd and arms keep-alive timers by default', async () => {
    const { body } = await call('/config')
    expect(body.keepAlive).toBe(true)
  })

  it('Lock: every request answered, one at a time', async () => {
    await call('/config')
    // The first holder stays inside until the gate opens: the nine others park.
    const replies = many(N, () => '/lock?gate=1')
    await untilParked(N - 1)
    await call('/gate')
    expect((await replies).map((r) => r.status)).toEqual(Array(N).fill(200))
    expect((await call('/state')).body).toMatchObject({ maxInside: 1, locked: false })
  })

  it('Semaphore(3): every request answered, at most 3 inside', async () => {
    await call('/config')
    const replies = many(N, () => '/semaphore?gate=1')
    await untilParked(N - 3)
    await call('/gate')
    expect((await replies).map((r) => r.status)).toEqual(Array(N).fill(200))
    expect((await call('/state')).body.maxInside).toBe(3)
  })

  it('Event: waiters released by a set() from another request', async () => {
    await call('/config')
    const waits = many(N, () => '/event/wait')
    await untilParked(N)
    await call('/event/set')
    expect((await waits).map((r) => r.status)).toEqual(Array(N).fill(200))
  })

  it('Condition: consumers woken by producers in other requests', async () => {
    await call('/config')
    const gets = many(N, () => '/condition/get')
    await untilParked(N)
    await many(N, (i) => `/condition/put?item=${i}`)
    const items = (await gets).map((r) => r.body.item)
    expect(items.sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: N }, (_, i) => i)
    )
  })

  it('Barrier(10): ten requests meet, indexes 0..9', async () => {
    await call('/config')
    const replies = await many(N, () => '/barrier')
    const idx = replies.map((r) => Number(r.body.index)).sort((a, b) => a - b)
    expect(idx).toEqual(Array.from({ length: N }, (_, i) => i))
  })

  it('Queue(maxsize 2): getters and blocked putters in different requests, items conserved', async () => {
    await call('/config')
    const gets = many(N, () => '/queue/get')
    await untilParked(N)
    const puts = many(N, (i) => `/queue/put?item=${i}`)
    const [g, p] = await Promise.all([gets, puts])
    expect(p.map((r) => r.status)).toEqual(Array(N).fill(200))
    const items = g.map((r) => Number(r.body.item)).sort((a, b) => a - b)
    expect(items).toEqual(Array.from({ length: N }, (_, i) => i))
  })

  it('Queue: putters blocked on a full queue, released by getters of other requests', async () => {
    await call('/config')
    const puts = many(N, (i) => `/queue/put?item=${i}`)
    await untilParked(N - 2)
    const g = await many(N, () => '/queue/get')
    expect((await puts).map((r) => r.status)).toEqual(Array(N).fill(200))
    const items = g.map((r) => Number(r.body.item)).sort((a, b) => a - b)
    expect(items).toEqual(Array.from({ length: N }, (_, i) => i))
  })

  it('Lock released inside ctx.waitUntil after the holder responded', async () => {
    await call('/config')
    const holder = await call('/lock/hold-then-release-in-waitUntil')
    expect(holder.status).toBe(200)
    // The holder has responded; these park until its waitUntil work releases the lock.
    const replies = many(N, () => '/lock?hold=2')
    await untilParked(N)
    await call('/gate')
    expect((await replies).map((r) => r.status)).toEqual(Array(N).fill(200))
    expect((await call('/state')).body).toMatchObject({ maxInside: 1, locked: false })
  })

  it('a lock leaked by a finished request fails its waiters with StalledWaitError, not a hang', async () => {
    await call('/config?stall=200')
    expect((await call('/lock/leak')).status).toBe(200)
    const replies = await many(N, () => '/lock')
    expect(replies.map((r) => r.status)).toEqual(Array(N).fill(500))
    expect(replies.map((r) => r.body.error)).toEqual(Array(N).fill('StalledWaitError'))
    await call('/config?stall=30000')
  })

  it('a grant that lands in a request that already ended: later waiters get StalledWaitError', async () => {
    await call('/config?stall=300')
    await call('/lock/hold-then-release-in-waitUntil')
    await call('/lock/fire-and-forget') // parks, then its request ends
    await call('/gate') // the holder releases: the lock goes to the dead waiter
    const replies = await many(N, () => '/lock?hold=2')
    expect(replies.map((r) => r.body.error)).toEqual(Array(N).fill('StalledWaitError'))
    await call('/config?stall=30000')
  })
})

describe('control: the trap is real in this runtime', () => {
  it('without keep-alive timers, waiters woken by another request are cancelled as hung', async () => {
    await call('/config?keepAlive=0')
    // The holder keeps the lock 300 ms on its own timer; the others park without one.
    const replies = many(N, () => '/lock?hold=300')
    await untilParked(N - 1)
    const answered = (await replies).filter((r) => r.status === 200).length
    expect(answered).toBeLessThan(N)
    await call('/config?keepAlive=1')
  })
})
