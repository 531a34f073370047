import fc from 'fast-check'
import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { concurrencyLimit } from './index.ts'

/** An app whose handlers wait until released, recording how many run at once. */
function gatedApp(options: Parameters<typeof concurrencyLimit>[0]) {
  const gates: Array<() => void> = []
  const started: string[] = []
  let running = 0
  let peak = 0
  const app = new Hono().get('/:id', concurrencyLimit(options), async (c) => {
    running++
    peak = Math.max(peak, running)
    started.push(c.req.param('id'))
    await new Promise<void>((resolve) => gates.push(resolve))
    running--
    return c.text(c.req.param('id'))
  })
  return {
    app,
    started,
    peak: () => peak,
    /** Lets the oldest running handler finish. */
    releaseOne: () => gates.shift()?.(),
    pending: () => gates.length,
  }
}

/** Runs queued microtasks and timers-free continuations until things settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('concurrencyLimit', () => {
  test('runs at most `max` handlers; the waiting line is served in FIFO order', async () => {
    const gated = gatedApp({ max: 2 })
    const responses = ['a', 'b', 'c', 'd', 'e'].map((id) => gated.app.request(`/${id}`))
    await settle()
    expect(gated.started).toEqual(['a', 'b'])
    while (gated.pending() > 0) {
      gated.releaseOne()
      await settle()
    }
    expect(gated.started).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(await Promise.all(responses.map(async (r) => (await r).status))).toEqual([
      200, 200, 200, 200, 200,
    ])
    expect(gated.peak()).toBe(2)
  })

  test('past maxWaiting, requests get 503 with Retry-After at once', async () => {
    const gated = gatedApp({ max: 1, maxWaiting: 1, retryAfter: 7 })
    const running = gated.app.request('/a')
    const waiting = gated.app.request('/b')
    await settle()
    const refused = await gated.app.request('/c')
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('7')
    expect(await refused.json()).toEqual({
      error: 'Service Unavailable: too many requests in progress',
    })
    gated.releaseOne()
    await settle()
    gated.releaseOne()
    expect((await running).status).toBe(200)
    expect((await waiting).status).toBe(200)
  })

  test('a waiter gives up after waitTimeout with a 503', async () => {
    const gated = gatedApp({ max: 1, waitTimeout: 20 })
    const running = gated.app.request('/a')
    await settle()
    const timedOut = await gated.app.request('/b')
    expect(timedOut.status).toBe(503)
    expect(await timedOut.json()).toEqual({ error: 'Service Unavailable: no slot within 20 ms' })
    gated.releaseOne()
    expect((await running).status).toBe(200)
    expect(gated.started).toEqual(['a'])
  })

  test('a waiter whose client disconnects leaves the line and takes no slot', async () => {
    const gated = gatedApp({ max: 1 })
    const running = gated.app.request('/a')
    const client = new AbortController()
    const leaving = gated.app.request(new Request('http://x/b', { signal: client.signal }))
    const staying = gated.app.request('/c')
    await settle()
    client.abort()
    expect((await leaving).status).toBe(503)
    gated.releaseOne()
    await settle()
    expect(gated.started).toEqual(['a', 'c'])
    gated.releaseOne()
    expect((await running).status).toBe(200)
    expect((await staying).status).toBe(200)
  })

  test('property: under random arrivals, finishes and disconnects the limit holds and nobody is lost', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.array(fc.constantFrom('arrive', 'finish', 'disconnect'), {
          minLength: 1,
          maxLength: 60,
        }),
        async (max, maxWaiting, steps) => {
          const gated = gatedApp({ max, maxWaiting })
          const clients: AbortController[] = []
          const outcomes: Promise<number | 'gone'>[] = []
          let id = 0
          for (const step of steps) {
            if (step === 'arrive') {
              const client = new AbortController()
              clients.push(client)
              outcomes.push(
                Promise.resolve(
                  gated.app.request(new Request(`http://x/${id++}`, { signal: client.signal }))
                ).then(
                  (r) => r.status,
                  () => 'gone' as const
                )
              )
            } else if (step === 'finish') gated.releaseOne()
            else clients[Math.floor(clients.length / 2)]?.abort()
            await settle()
            expect(gated.pending()).toBeLessThanOrEqual(max)
          }
          while (gated.pending() > 0) {
            gated.releaseOne()
            await settle()
          }
          for (const outcome of await Promise.all(outcomes)) {
            expect([200, 503, 'gone']).toContain(outcome)
          }
          expect(gated.peak()).toBeLessThanOrEqual(max)
          // FIFO: handlers started in arrival order.
          expect(gated.started.map(Number)).toEqual(
            [...gated.started.map(Number)].sort((a, b) => a - b)
          )
        }
      ),
      { numRuns: 100 }
    )
  })

  test('1,000 concurrent requests: never more than max at once, each answered 200 or 503', async () => {
    const gated = gatedApp({ max: 8, maxWaiting: 500 })
    const responses = Array.from({ length: 1000 }, (_, i) => gated.app.request(`/${i}`))
    await settle()
    while (gated.pending() > 0) {
      gated.releaseOne()
      await settle()
    }
    const statuses = await Promise.all(responses.map(async (r) => (await r).status))
    expect(statuses.filter((s) => s === 200)).toHaveLength(508)
    expect(statuses.filter((s) => s === 503)).toHaveLength(492)
    expect(gated.peak()).toBe(8)
  })

  test('bad options fail at once', () => {
    expect(() => concurrencyLimit({ max: 0 })).toThrow(RangeError)
    expect(() => concurrencyLimit({ max: 1.5 })).toThrow(RangeError)
  })
})
