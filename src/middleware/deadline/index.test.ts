import { Hono } from 'hono'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { TimeoutError } from '../../tasks/timeout-error.ts'
import { deadline } from './index.ts'

afterEach(() => {
  vi.useRealTimers()
})

/** Resolves when `signal` aborts, with its reason. */
const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)))

describe('deadline', () => {
  test('a handler that finishes in time answers as usual, with a live signal', async () => {
    let signal: AbortSignal | undefined
    const app = new Hono().get('/', deadline({ ms: 1000 }), (c) => {
      signal = c.get('signal')
      return c.text('on time')
    })
    const res = await app.request('/')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('on time')
    expect(signal?.aborted).toBe(false)
  })

  test('publishes when the deadline passes, as deadlineAt', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    let deadlineAt: number | undefined
    const app = new Hono().get('/', deadline({ ms: 250 }), (c) => {
      deadlineAt = c.get('deadlineAt')
      return c.text('on time')
    })
    await app.request('/')
    expect(deadlineAt).toBe(1_000_250)
  })

  test('at the deadline the work is aborted and the client gets 504', async () => {
    vi.useFakeTimers()
    let reason: unknown
    const app = new Hono()
      .onError((error, c) => c.text(String(error), 500))
      .get('/', deadline({ ms: 100 }), async (c) => {
        reason = await aborted(c.get('signal'))
        throw reason // swallowed: the deadline answered already
      })
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(100)
    const res = await pending
    expect(res.status).toBe(504)
    expect(await res.json()).toEqual({ error: 'Gateway Timeout: no response within 100 ms' })
    // The same TimeoutError as timeout()'s, named as the platform's own.
    expect(reason).toBeInstanceOf(TimeoutError)
    expect((reason as Error).name).toBe('TimeoutError')
  })

  test('the 504 wins over a handler that catches the abort and answers at once', async () => {
    vi.useFakeTimers()
    const app = new Hono().get('/', deadline({ ms: 50 }), async (c) => {
      await aborted(c.get('signal'))
      c.header('x-partial', 'yes')
      return c.text('partial result', 200)
    })
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(50)
    const res = await pending
    expect(res.status).toBe(504)
    expect(res.headers.get('x-partial')).toBeNull()
  })

  test('a handler that ignores the signal is not waited for', async () => {
    vi.useFakeTimers()
    const app = new Hono().get('/', deadline({ ms: 50 }), async (c) => {
      await new Promise((resolve) => setTimeout(resolve, 10_000))
      return c.text('too late')
    })
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(50)
    expect((await pending).status).toBe(504)
    await vi.advanceTimersByTimeAsync(10_000) // the late answer is dropped without error
  })

  test("the signal also follows the client's disconnect", async () => {
    const client = new AbortController()
    let reason: unknown
    const app = new Hono().get('/', deadline({ ms: 60_000 }), async (c) => {
      const gone = aborted(c.get('signal'))
      client.abort(new Error('client left'))
      reason = await gone
      return c.text('nobody listens')
    })
    await app.request(new Request('http://x/', { signal: client.signal }))
    expect(reason).toEqual(new Error('client left'))
  })

  test('the signal still follows the client once the middleware returned (a streamed body)', async () => {
    const client = new AbortController()
    let signal: AbortSignal | undefined
    const app = new Hono().get('/', deadline({ ms: 60_000 }), (c) => {
      signal = c.get('signal')
      return c.body(new ReadableStream({ pull() {} })) // streams until the client leaves
    })
    const res = await app.request(new Request('http://x/', { signal: client.signal }))
    expect(res.status).toBe(200)
    expect(signal?.aborted).toBe(false)
    client.abort(new Error('client left'))
    expect(signal?.reason).toEqual(new Error('client left'))
    await res.body?.cancel()
  })

  test('nested in a shorter deadline(), the inner one ends with it: signal, deadlineAt, 504', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    let reason: unknown
    let deadlineAt: number | undefined
    const app = new Hono()
      .use(deadline({ ms: 100 })) // the app's
      .get('/', deadline({ ms: 10_000 }), async (c) => {
        deadlineAt = c.get('deadlineAt')
        reason = await aborted(c.get('signal'))
        throw reason
      })
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(100)
    const res = await pending
    expect(deadlineAt).toBe(1_000_100) // the outer's, not 1_010_000
    expect(reason).toBeInstanceOf(TimeoutError) // aborted at the outer deadline
    expect(res.status).toBe(504)
    expect(await res.json()).toEqual({ error: 'Gateway Timeout: no response within 100 ms' })
  })

  test('nested in a longer deadline(), the inner one answers first', async () => {
    vi.useFakeTimers({ now: 1_000_000 })
    let deadlineAt: number | undefined
    const app = new Hono()
      .use(deadline({ ms: 10_000 }))
      .get('/', deadline({ ms: 100 }), async (c) => {
        deadlineAt = c.get('deadlineAt')
        await aborted(c.get('signal'))
        return c.text('late')
      })
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(100)
    const res = await pending
    expect(deadlineAt).toBe(1_000_100)
    expect(await res.json()).toEqual({ error: 'Gateway Timeout: no response within 100 ms' })
  })

  test('errors before the deadline still reach onError', async () => {
    const app = new Hono()
      .onError((error, c) => c.text(`handled: ${error.message}`, 500))
      .get('/', deadline({ ms: 1000 }), () => {
        throw new Error('boom')
      })
    const res = await app.request('/')
    expect(res.status).toBe(500)
    expect(await res.text()).toBe('handled: boom')
  })

  test('a custom onTimeout response', async () => {
    vi.useFakeTimers()
    const app = new Hono().get(
      '/',
      deadline({ ms: 10, onTimeout: (c) => c.text('try later', 503) }),
      (c) => new Promise<Response>((resolve) => setTimeout(() => resolve(c.text('late')), 100))
    )
    const pending = app.request('/')
    await vi.advanceTimersByTimeAsync(10)
    const res = await pending
    expect(res.status).toBe(503)
    expect(await res.text()).toBe('try later')
  })

  test('bad options fail at once', () => {
    expect(() => deadline({ ms: 0 })).toThrow(RangeError)
  })
})
