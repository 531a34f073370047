import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import { describe, expect, test } from 'vitest'
import { coalesce } from './index.ts'

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** An app whose handler waits for `release()` and counts its runs. */
function gatedApp(options: Parameters<typeof coalesce>[0] = {}) {
  let runs = 0
  const releases: Array<(value: string) => void> = []
  let runSignal: AbortSignal | undefined
  const app = new Hono()
    .onError((error, c) => c.json({ error: error.message }, 500))
    .get('/item/:id', coalesce(options), async (c) => {
      runs++
      runSignal = c.req.raw.signal
      const outcome = await new Promise<string>((resolve) => releases.push(resolve))
      if (outcome === 'fail') throw new Error('upstream down')
      return c.json({ id: c.req.param('id'), run: runs, outcome })
    })
    .get('/stream', coalesce(), (c) =>
      stream(c, async (out) => {
        runs++
        for (const part of ['a', 'b', 'c']) await out.write(part)
      })
    )
    .post('/item/:id', coalesce(), (c) => {
      runs++
      return c.text('posted')
    })
  return {
    app,
    runs: () => runs,
    /** Lets the oldest waiting run finish with `outcome`. */
    release: (outcome = 'ok') => releases.shift()?.(outcome),
    runSignal: () => runSignal,
  }
}

const request = (app: Hono, path: string, init?: RequestInit) =>
  Promise.resolve(app.request(new Request(`http://x${path}`, init)))

describe('coalesce', () => {
  test('concurrent identical GETs share one run; each caller gets its own copy', async () => {
    const gated = gatedApp()
    const responses = Array.from({ length: 5 }, () => request(gated.app, '/item/1'))
    await settle()
    gated.release()
    const bodies = await Promise.all(responses.map(async (r) => (await r).json()))
    expect(gated.runs()).toBe(1)
    for (const body of bodies) expect(body).toEqual({ id: '1', run: 1, outcome: 'ok' })
  })

  test('different keys run separately; the next burst runs again', async () => {
    const gated = gatedApp()
    const one = request(gated.app, '/item/1')
    const two = request(gated.app, '/item/2')
    await settle()
    expect(gated.runs()).toBe(2)
    gated.release()
    await settle()
    gated.release()
    await Promise.all([one, two])
    const again = request(gated.app, '/item/1')
    await settle()
    gated.release()
    await again
    expect(gated.runs()).toBe(3)
  })

  test('each user coalesces apart by default (Authorization and Cookie are in the key)', async () => {
    const gated = gatedApp()
    const alice = request(gated.app, '/item/1', { headers: { cookie: 'session=alice' } })
    const bob = request(gated.app, '/item/1', { headers: { cookie: 'session=bob' } })
    await settle()
    expect(gated.runs()).toBe(2)
    gated.release()
    await settle()
    gated.release()
    await Promise.all([alice, bob])
  })

  test('a streamed body is shared whole, a copy per caller', async () => {
    const gated = gatedApp()
    const texts = await Promise.all(
      Array.from({ length: 3 }, async () => (await request(gated.app, '/stream')).text())
    )
    expect(texts).toEqual(['abc', 'abc', 'abc'])
    expect(gated.runs()).toBe(1)
  })

  test('an error reaches every caller', async () => {
    const gated = gatedApp()
    const responses = Array.from({ length: 3 }, () => request(gated.app, '/item/1'))
    await settle()
    gated.release('fail')
    for (const res of await Promise.all(responses)) {
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ error: 'upstream down' })
    }
  })

  test('a follower that disconnects does not disturb the run or the others', async () => {
    const gated = gatedApp()
    const leader = request(gated.app, '/item/1')
    const client = new AbortController()
    const leaving = request(gated.app, '/item/1', { signal: client.signal })
    const staying = request(gated.app, '/item/1')
    await settle()
    client.abort()
    await expect(leaving).resolves.toHaveProperty('status', 500) // its own abort, not shared
    expect(gated.runSignal()?.aborted).toBe(false)
    gated.release()
    expect((await leader).status).toBe(200)
    expect((await staying).status).toBe(200)
  })

  test('the leader disconnecting does not abort the run while others wait', async () => {
    const gated = gatedApp()
    const client = new AbortController()
    const leader = request(gated.app, '/item/1', { signal: client.signal })
    const follower = request(gated.app, '/item/1')
    await settle()
    client.abort()
    await settle()
    expect(gated.runSignal()?.aborted).toBe(false)
    gated.release()
    expect(await (await follower).json()).toMatchObject({ outcome: 'ok' })
    await leader
  })

  test('once every caller has gone the run is aborted', async () => {
    const gated = gatedApp()
    const a = new AbortController()
    const b = new AbortController()
    const first = request(gated.app, '/item/1', { signal: a.signal })
    const second = request(gated.app, '/item/1', { signal: b.signal })
    await settle()
    a.abort()
    await settle()
    expect(gated.runSignal()?.aborted).toBe(false)
    b.abort()
    await settle()
    expect(gated.runSignal()?.aborted).toBe(true)
    gated.release()
    await Promise.allSettled([first, second])
  })

  test('a lone leader that disconnects aborts its run', async () => {
    const gated = gatedApp()
    const client = new AbortController()
    const leader = request(gated.app, '/item/1', { signal: client.signal })
    await settle()
    expect(gated.runSignal()?.aborted).toBe(false)
    client.abort()
    await settle()
    expect(gated.runSignal()?.aborted).toBe(true)
    gated.release()
    await leader
  })

  // The request copy is made when the handler first reads c.req.raw: the callers that left
  // before that must still count.
  test('a run that reads its request late sees who is still there', async () => {
    const gates: Array<() => void> = []
    const seen: boolean[] = []
    const app = new Hono()
      .onError((error, c) => c.text(String(error), 500))
      .get('/late', coalesce(), async (c) => {
        await new Promise<void>((resolve) => gates.push(resolve))
        seen.push(c.req.raw.signal.aborted)
        return c.text('late')
      })
    // The leader leaves, a follower stays: the run's signal is live.
    const leaderGone = new AbortController()
    const leader = request(app, '/late', { signal: leaderGone.signal })
    const follower = request(app, '/late')
    await settle()
    leaderGone.abort()
    await settle()
    gates.shift()?.()
    expect(await (await follower).text()).toBe('late')
    await leader
    // Every caller left before the read: the run's signal is aborted.
    const a = new AbortController()
    const b = new AbortController()
    const first = request(app, '/late', { signal: a.signal })
    const second = request(app, '/late', { signal: b.signal })
    await settle()
    a.abort()
    b.abort()
    await settle()
    gates.shift()?.()
    await Promise.allSettled([first, second])
    expect(seen).toEqual([false, true])
  })

  test('POST is never coalesced', async () => {
    const gated = gatedApp()
    await Promise.all([
      request(gated.app, '/item/1', { method: 'POST' }),
      request(gated.app, '/item/1', { method: 'POST' }),
    ])
    expect(gated.runs()).toBe(2)
  })
})
