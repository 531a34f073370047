import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientTimeoutError, createClient } from '../../src/client/index.ts'
import { deadline } from '../../src/middleware/deadline/index.ts'
import { startUpstream, type Upstream } from './upstream.ts'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())

/** Answers 503 (with `retryAfter` when given) to the first `failures` requests, then 200. */
function failFirst(failures: number, retryAfter?: string): void {
  const first = upstream.count
  upstream.handle((req, res, n) => {
    req.resume()
    if (n - first < failures) {
      res.writeHead(503, retryAfter === undefined ? {} : { 'retry-after': retryAfter })
      res.end('busy')
    } else {
      res.end('ok')
    }
  })
}

describe('client retries', () => {
  it('retries a 503 with Retry-After: 1 after at least a second', async () => {
    failFirst(1, '1')
    const client = createClient()
    const from = upstream.count
    const res = await client.get(upstream.url)
    expect(await res.text()).toBe('ok')
    expect(upstream.count - from).toBe(2)
    const [a = 0, b = 0] = upstream.arrivals.slice(from)
    // The time property is the point here; timers may fire a hair early against now().
    expect(b - a).toBeGreaterThanOrEqual(995)
  })

  it('honours Retry-After given as an HTTP date', async () => {
    failFirst(1, new Date(Date.now() - 1000).toUTCString())
    const client = createClient()
    const res = await client.get(upstream.url)
    expect(res.status).toBe(200)
    await res.body?.cancel()
  })

  it('does not retry a POST', async () => {
    failFirst(1, '0')
    const client = createClient()
    const from = upstream.count
    const res = await client.post(upstream.url, { body: 'x' })
    expect(res.status).toBe(503)
    await res.body?.cancel()
    expect(upstream.count - from).toBe(1)
  })

  it('retries a POST that carries an Idempotency-Key, replaying its body', async () => {
    const bodies: string[] = []
    const first = upstream.count
    upstream.handle(async (req, res, n) => {
      let body = ''
      for await (const chunk of req) body += chunk
      bodies.push(body)
      res.writeHead(n === first ? 503 : 200, { 'retry-after': '0' }).end()
    })
    const client = createClient()
    const res = await client.post(upstream.url, {
      json: { a: 1 },
      headers: { 'idempotency-key': 'k1' },
    })
    expect(res.status).toBe(200)
    expect(bodies).toEqual(['{"a":1}', '{"a":1}'])
  })

  it('does not retry a streamed body', async () => {
    failFirst(1, '0')
    const client = createClient()
    const from = upstream.count
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('x'))
        c.close()
      },
    })
    const res = await client.put(upstream.url, { body, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(503)
    await res.body?.cancel()
    expect(upstream.count - from).toBe(1)
  })

  it('returns the response when Retry-After asks for more than maxRetryAfterMs', async () => {
    failFirst(1, '120')
    const client = createClient({ retry: { maxRetryAfterMs: 1_000 } })
    const from = upstream.count
    const res = await client.get(upstream.url)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('120')
    await res.body?.cancel()
    expect(upstream.count - from).toBe(1)
  })

  it('does not attempt a retry that would pass the deadline: fails with the deadline error', async () => {
    failFirst(5, '5')
    const client = createClient()
    const from = upstream.count
    const started = Date.now()
    const call = client.get(upstream.url, { deadline: Date.now() + 2_000 })
    await expect(call).rejects.toBeInstanceOf(ClientTimeoutError)
    await expect(call).rejects.toMatchObject({ kind: 'deadline' })
    // It failed at once, not after waiting for the deadline.
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(upstream.count - from).toBe(1)
  })

  it('a retry that would pass the total timeout is not attempted either', async () => {
    failFirst(5, '5')
    const client = createClient({ timeout: { total: 2_000 } })
    await expect(client.get(upstream.url)).rejects.toMatchObject({
      name: 'TimeoutError',
      kind: 'total',
    })
  })

  it('inside deadline(): a retry that would outlast the request is not attempted, at once', async () => {
    failFirst(5, '60')
    const client = createClient()
    const app = new Hono()
    const seen: unknown[] = []
    const before = upstream.count
    app.get('/', deadline({ ms: 30_000 }), async (c) => {
      try {
        await client.for(c).get(upstream.url)
      } catch (error) {
        seen.push(error)
        return c.text('failed', 500)
      }
      return c.text('unreachable')
    })
    // deadline() publishes its end (deadlineAt): the retry Retry-After asks for would pass
    // it, so the call fails with the deadline's TimeoutError now, not 30 s from now.
    const res = await app.request('/')
    expect(res.status).toBe(500)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toBeInstanceOf(ClientTimeoutError)
    expect((seen[0] as ClientTimeoutError).kind).toBe('deadline')
    expect((seen[0] as Error).name).toBe('TimeoutError')
    expect(upstream.count - before).toBe(1)
  })

  it('retries a network error on an idempotent call', async () => {
    const first = upstream.count
    upstream.handle((req, res, n) => {
      if (n === first) req.socket.destroy()
      else res.end('ok')
    })
    const client = createClient({ retry: { backoffMs: 1 } })
    const res = await client.get(upstream.url)
    expect(await res.text()).toBe('ok')
  })

  it('retry: false and retry.limit 0 send once', async () => {
    failFirst(5, '0')
    const client = createClient({ retry: false })
    const from = upstream.count
    const res = await client.get(upstream.url)
    await res.body?.cancel()
    const res2 = await createClient().get(upstream.url, { retry: { limit: 0 } })
    await res2.body?.cancel()
    expect(upstream.count - from).toBe(2)
  })
})
