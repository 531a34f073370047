import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientQueueFullError, createClient } from '../../src/client/index.ts'
import { gate, startUpstream, type Upstream } from './upstream.ts'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())

describe('client limits', () => {
  it('perHost 4: 100 concurrent calls never put more than 4 in flight, all answered', async () => {
    // Answers are deferred a turn, so that calls overlap at the upstream.
    const own = await startUpstream((_req, res) => {
      setImmediate(() => res.end('ok'))
    })
    const client = createClient({ limit: { perHost: 4 } })
    const bodies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.get(`${own.url}${i}`).then((r) => r.text()))
    )
    await own.close()
    expect(bodies).toHaveLength(100)
    expect(bodies.every((b) => b === 'ok')).toBe(true)
    expect(own.count).toBe(100)
    expect(own.peak).toBeLessThanOrEqual(4)
    expect(own.peak).toBeGreaterThan(1)
    expect(client.inFlight).toBe(0)
  })

  it('holds the permit until the body is done, not just the headers', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    upstream.handle((_req, res) => {
      res.end('body')
    })
    const first = await client.get(upstream.url)
    let second = false
    const next = client.get(upstream.url).then((r) => {
      second = true
      return r.text()
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(second).toBe(false)
    expect(await first.text()).toBe('body')
    expect(await next).toBe('body')
  })

  it('fails fast with ClientQueueFullError when maxQueue calls already wait', async () => {
    const hold = gate()
    upstream.handle(async (_req, res) => {
      await hold.promise
      res.end('ok')
    })
    const client = createClient({ limit: { perHost: 1, maxQueue: 2 } })
    const calls = [1, 2, 3].map(() => client.get(upstream.url).then((r) => r.text()))
    const refused = client.get(upstream.url)
    await expect(refused).rejects.toBeInstanceOf(ClientQueueFullError)
    await expect(refused).rejects.toMatchObject({ maxQueue: 2, origin: upstream.origin })
    hold.open()
    expect(await Promise.all(calls)).toEqual(['ok', 'ok', 'ok'])
  })

  it('an aborted wait leaves the queue and consumes no permit', async () => {
    const hold = gate()
    upstream.handle(async (_req, res) => {
      await hold.promise
      res.end('ok')
    })
    const client = createClient({ limit: { total: 1, maxQueue: 1 } })
    const first = client.get(upstream.url)
    const controller = new AbortController()
    const waiting = client.get(upstream.url, { signal: controller.signal })
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    // The queue slot is free again.
    const third = client.get(upstream.url)
    hold.open()
    expect(await (await first).text()).toBe('ok')
    expect(await (await third).text()).toBe('ok')
  })
})
