import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientTimeoutError, createClient } from '../../src/client/index.ts'
import { deadline } from '../../src/middleware/deadline/index.ts'
import { isTimeoutError } from '../../src/tasks/timeout-error.ts'
import { gate, startUpstream, type Upstream } from './upstream.ts'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())

/** The upstream accepts requests and never answers them. */
function hang(): void {
  upstream.handle(() => {})
}

describe('client timeouts and cancellation', () => {
  it('a total timeout aborts the call and the upstream sees the connection close', async () => {
    hang()
    const client = createClient({ timeout: { total: 200 } })
    const closed = upstream.nextDisconnect()
    const call = client.get(upstream.url)
    const error = await call.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ClientTimeoutError)
    expect(error).toMatchObject({ kind: 'total' })
    expect(isTimeoutError(error)).toBe(true)
    await closed
    expect(client.inFlight).toBe(0)
  })

  it('a total timeout also bounds reading the body', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200)
      res.write('partial')
    })
    const client = createClient({ timeout: { total: 200 } })
    const closed = upstream.nextDisconnect()
    const res = await client.get(upstream.url)
    await expect(res.text()).rejects.toMatchObject({ kind: 'total' })
    await closed
  })

  it('an attempt timeout is retried; the next attempt answers', async () => {
    const first = upstream.count
    upstream.handle((_req, res, n) => {
      if (n !== first) res.end('ok')
    })
    const client = createClient({ timeout: { attempt: 150 }, retry: { backoffMs: 1 } })
    const closed = upstream.nextDisconnect()
    const res = await client.get(upstream.url)
    expect(await res.text()).toBe('ok')
    await closed
  })

  it('an attempt timeout on a POST fails with kind "attempt"', async () => {
    hang()
    const client = createClient({ timeout: { attempt: 100 } })
    await expect(client.post(upstream.url, { body: 'x' })).rejects.toMatchObject({
      kind: 'attempt',
    })
  })

  it("aborting the caller's signal aborts the call; the upstream sees the close", async () => {
    hang()
    const client = createClient()
    const controller = new AbortController()
    const arrived = upstream.nextRequest()
    const closed = upstream.nextDisconnect()
    const call = client.get(upstream.url, { signal: controller.signal })
    await arrived
    const reason = new Error('caller left')
    controller.abort(reason)
    await expect(call).rejects.toBe(reason)
    await closed
    expect(client.inFlight).toBe(0)
  })

  it('an already aborted signal fails at once without a request', async () => {
    const client = createClient()
    const from = upstream.count
    await expect(client.get(upstream.url, { signal: AbortSignal.abort('no') })).rejects.toBe('no')
    expect(upstream.count).toBe(from)
  })

  it("client.for(c) follows deadline()'s signal: the upstream sees the close", async () => {
    hang()
    const client = createClient()
    const app = new Hono()
    const closed = upstream.nextDisconnect()
    app.get('/', deadline({ ms: 200 }), async (c) => {
      const res = await client
        .for(c)
        .get(upstream.url)
        .catch(() => undefined)
      return res === undefined ? c.text('failed', 500) : c.body(await res.text())
    })
    const res = await app.request('/')
    // The call ends by deadline()'s signal, not a timer of its own due at the same instant,
    // so deadline() has decided on its 504 before the handler sees the failed call.
    expect(res.status).toBe(504)
    await closed
  })

  it("a call client.for(c) makes after deadline() returned still ends at the request's deadline", async () => {
    hang()
    const client = createClient()
    const app = new Hono()
    const closed = upstream.nextDisconnect()
    let late: Promise<unknown> | undefined
    app.get('/', deadline({ ms: 200 }), (c) => {
      // Work the answer does not wait for (as a streamed body's): deadline() has returned,
      // so only the call's own timer ends it at deadlineAt.
      late = client
        .for(c)
        .get(upstream.url)
        .catch((error: unknown) => error)
      return c.text('answered')
    })
    const res = await app.request('/')
    expect(await res.text()).toBe('answered')
    expect(await late).toMatchObject({ name: 'TimeoutError', kind: 'deadline' })
    await closed
  })

  it("client.for(c) without deadline() follows the incoming request's own signal", async () => {
    hang()
    const client = createClient()
    const app = new Hono()
    const arrived = upstream.nextRequest()
    const closed = upstream.nextDisconnect()
    const failed = gate()
    app.get('/', async (c) => {
      await client
        .for(c)
        .get(upstream.url)
        .catch(() => failed.open())
      return c.text('gone')
    })
    const incoming = new AbortController()
    const answered = Promise.resolve(app.request('/', { signal: incoming.signal })).catch(
      () => undefined
    )
    await arrived
    incoming.abort(new Error('client disconnected'))
    await failed.promise
    await closed
    await answered
  })

  it('client.for({ signal, deadline }) binds plain values too', async () => {
    hang()
    const client = createClient()
    const bound = client.for({ deadline: Date.now() + 150 })
    const closed = upstream.nextDisconnect()
    await expect(bound.get(upstream.url)).rejects.toMatchObject({ kind: 'deadline' })
    await closed
  })
})
