import { HTTPException } from 'hono/http-exception'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import {
  BodyTimeout,
  BodyTimeoutError,
  guardsBody,
  SMALL_BODY_BYTES,
  withBodyTimeout,
} from '../../src/lifecycle/body-timeout.ts'

const TIMEOUT = 1_000
const bytes = (...values: number[]) => new Uint8Array(values)

/**
 * A request body the test sends by hand: `send` a chunk, `end` it, `fail` it; `pulls`
 * counts the reads that reached it and `cancelled` records a cancel and its reason.
 */
function clientBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const state = { pulls: 0, cancelled: false, cancelReason: undefined as unknown }
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        state.pulls++
      },
      cancel(reason) {
        state.cancelled = true
        state.cancelReason = reason
      },
    },
    { highWaterMark: 0 }
  )
  return {
    stream,
    state,
    send: (chunk: Uint8Array) => controller.enqueue(chunk),
    end: () => controller.close(),
    fail: (error: unknown) => controller.error(error),
  }
}

/** The outcome of a pending promise, observable without awaiting it. */
function track<T>(promise: Promise<T>) {
  const outcome: { settled: boolean; value?: T; error?: unknown } = { settled: false }
  promise.then(
    (value) => Object.assign(outcome, { settled: true, value }),
    (error) => Object.assign(outcome, { settled: true, error })
  )
  return outcome
}

/** Lets the promise jobs queued so far run (stream reads settle through several). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('BodyTimeout.wrap', () => {
  test('a body that stalls while the handler waits errors with a 408 BodyTimeoutError after the timeout', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, false).getReader()

    const read = track(reader.read())
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1)
    expect(read.settled).toBe(false)
    expect(guard.timedOut).toBe(false)

    await vi.advanceTimersByTimeAsync(1)
    expect(read.settled).toBe(true)
    const error = read.error as BodyTimeoutError
    expect(error).toBeInstanceOf(BodyTimeoutError)
    expect(error).toBeInstanceOf(HTTPException)
    expect(error.status).toBe(408)
    expect(error.name).toBe('BodyTimeoutError')
    expect(error.timeout).toBe(TIMEOUT)
    expect(error.message).toBe(`Request Timeout: no request body data for ${TIMEOUT} ms`)
    expect(guard.timedOut).toBe(true)
    // The body stays failed: later reads get the same error.
    await expect(reader.read()).rejects.toBe(error)
  })

  test('time while nobody reads does not count', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, true).getReader()

    // The handler is busy elsewhere for ten timeouts: no read, so no timer, no pull.
    await vi.advanceTimersByTimeAsync(10 * TIMEOUT)
    expect(guard.timedOut).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
    expect(body.state.pulls).toBe(0)

    // The wait counts from the read: just under the timeout, then the chunk comes.
    const read = track(reader.read())
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1)
    expect(read.settled).toBe(false)
    body.send(bytes(1, 2, 3))
    await flush()
    expect(read.value).toEqual({ done: false, value: bytes(1, 2, 3) })
    expect(guard.timedOut).toBe(false)
    expect(body.state.cancelled).toBe(false)
  })

  test('data that arrived while nobody read is delivered however late the read', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, false).getReader()
    body.send(bytes(7))
    body.end()
    await vi.advanceTimersByTimeAsync(5 * TIMEOUT)
    expect(await reader.read()).toEqual({ done: false, value: bytes(7) })
    expect(await reader.read()).toEqual({ done: true, value: undefined })
    expect(guard.timedOut).toBe(false)
  })

  test('a body that keeps flowing is never timed out, however long it takes in all', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, true).getReader()
    const received: number[] = []
    for (let i = 0; i < 20; i++) {
      const read = track(reader.read())
      await vi.advanceTimersByTimeAsync(TIMEOUT - 1)
      expect(read.settled).toBe(false)
      body.send(bytes(i))
      await flush()
      const result = read.value as ReadableStreamReadResult<Uint8Array>
      expect(result.done).toBe(false)
      received.push(...(result.value ?? []))
      // Each chunk's timer is cleared once it arrives.
      expect(vi.getTimerCount()).toBe(0)
    }
    body.end()
    expect(await reader.read()).toEqual({ done: true, value: undefined })
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i))
    // 20 × (TIMEOUT - 1) ms in all, far past the timeout, and never failed.
    expect(guard.timedOut).toBe(false)
    expect(body.state.cancelled).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })

  test('the bytes pass through unchanged, chunk for chunk, then the end', async () => {
    vi.useRealTimers() // nothing waits here: the chunks are all there
    const chunks = [bytes(0, 255, 128), new Uint8Array(0), new Uint8Array(70_000).fill(0xab)]
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk)
        controller.close()
      },
    })
    const guard = new BodyTimeout(TIMEOUT)
    const out: Uint8Array[] = []
    for await (const chunk of guard.wrap(source, true)) out.push(chunk)
    expect(out).toEqual(chunks)
    expect(guard.timedOut).toBe(false)
    // Read as a whole, by Response, too.
    const again = new BodyTimeout(TIMEOUT).wrap(
      new Response(new Uint8Array([104, 105])).body as ReadableStream<Uint8Array>,
      false
    )
    expect(await new Response(again).text()).toBe('hi')
  })

  test('cancelSource: on expiry the source is cancelled with the BodyTimeoutError (Deno)', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const read = track(guard.wrap(body.stream, true).getReader().read())
    await vi.advanceTimersByTimeAsync(TIMEOUT)
    expect(read.error).toBeInstanceOf(BodyTimeoutError)
    expect(body.state.cancelled).toBe(true)
    expect(body.state.cancelReason).toBe(read.error)
  })

  test('without cancelSource the source is left alone on expiry (Node), and a late chunk is dropped', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, false).getReader()
    const read = track(reader.read())
    await vi.advanceTimersByTimeAsync(TIMEOUT)
    expect(read.error).toBeInstanceOf(BodyTimeoutError)
    expect(body.state.cancelled).toBe(false)

    // The client sends again after all: the handler still sees the timeout, not the bytes.
    body.send(bytes(9))
    await flush()
    await expect(reader.read()).rejects.toBe(read.error)
    expect(guard.timedOut).toBe(true)
  })

  test("the source's own error passes through as it is, and is not a timeout", async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const read = track(guard.wrap(body.stream, true).getReader().read())
    const reset = new TypeError('connection reset')
    body.fail(reset)
    await flush()
    expect(read.error).toBe(reset)
    await vi.advanceTimersByTimeAsync(2 * TIMEOUT)
    expect(guard.timedOut).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })

  test('a handler that cancels the body cancels the source, and stops the clock', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const reader = guard.wrap(body.stream, false).getReader()
    const read = track(reader.read())
    await vi.advanceTimersByTimeAsync(TIMEOUT / 2)
    await reader.cancel('not needed')
    expect(body.state.cancelled).toBe(true)
    expect(body.state.cancelReason).toBe('not needed')
    await flush()
    expect(read.value).toEqual({ done: true, value: undefined })
    await vi.advanceTimersByTimeAsync(2 * TIMEOUT)
    expect(guard.timedOut).toBe(false)
  })
})

describe('BodyTimeout.answer', () => {
  test("leaves the handler's response alone while the body has not timed out", () => {
    const guard = new BodyTimeout(TIMEOUT)
    const response = new Response('fine', { status: 201, headers: { 'x-kept': '1' } })
    expect(guard.answer(response)).toBe(response)
  })

  test('once the body timed out, any response becomes a 408 with Connection: close', async () => {
    const body = clientBody()
    const guard = new BodyTimeout(TIMEOUT)
    const read = track(guard.wrap(body.stream, false).getReader().read())
    await vi.advanceTimersByTimeAsync(TIMEOUT)
    expect(read.error).toBeInstanceOf(BodyTimeoutError)

    // What a validator makes of a failed read: a 400, with a body of its own.
    let handlerBodyCancelled = false
    const handlerBody = new ReadableStream({
      cancel() {
        handlerBodyCancelled = true
      },
    })
    const answered = guard.answer(new Response(handlerBody, { status: 400 }))
    expect(answered.status).toBe(408)
    expect(answered.headers.get('connection')).toBe('close')
    expect(answered.headers.get('content-type')).toBe('application/json')
    expect(await answered.json()).toEqual({
      error: `Request Timeout: no request body data for ${TIMEOUT} ms`,
    })
    await flush()
    expect(handlerBodyCancelled).toBe(true)

    // A 200 (a handler that swallowed the error) and a bodiless response alike.
    expect(guard.answer(new Response('ok')).status).toBe(408)
    const empty = guard.answer(new Response(null, { status: 204 }))
    expect(empty.status).toBe(408)
    expect(empty.headers.get('connection')).toBe('close')
  })
})

describe('withBodyTimeout', () => {
  test('a request without a body is returned as it is', () => {
    const request = new Request('http://edgeio.test/x')
    expect(withBodyTimeout(request, new BodyTimeout(TIMEOUT), true)).toBe(request)
  })

  test('a request with a body is copied with its method, URL, headers and signal, and a guarded body', async () => {
    const body = clientBody()
    const aborter = new AbortController()
    const request = new Request('http://edgeio.test/upload?x=1', {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'x-trace': 'abc' },
      body: body.stream,
      duplex: 'half',
      signal: aborter.signal,
    } as RequestInit)
    const guard = new BodyTimeout(TIMEOUT)
    const guarded = withBodyTimeout(request, guard, true)
    expect(guarded).not.toBe(request)
    expect(guarded.method).toBe('PUT')
    expect(guarded.url).toBe('http://edgeio.test/upload?x=1')
    expect(guarded.headers.get('x-trace')).toBe('abc')
    expect(guarded.headers.get('content-type')).toBe('application/octet-stream')

    // The bytes come through, then a stall while the handler reads is a timeout.
    const reader = (guarded.body as ReadableStream<Uint8Array>).getReader()
    const first = track(reader.read())
    body.send(bytes(1, 2))
    await flush()
    await vi.advanceTimersByTimeAsync(0)
    expect(first.value).toEqual({ done: false, value: bytes(1, 2) })
    const second = track(reader.read())
    await vi.advanceTimersByTimeAsync(TIMEOUT)
    expect(second.error).toBeInstanceOf(BodyTimeoutError)
    expect(guard.timedOut).toBe(true)
    expect(body.state.cancelled).toBe(true)

    // A disconnect still aborts the copy.
    expect(guarded.signal.aborted).toBe(false)
    aborter.abort(new Error('client left'))
    expect(guarded.signal.aborted).toBe(true)
  })
})

describe('guardsBody', () => {
  test('SMALL_BODY_BYTES is 64 KiB', () => {
    expect(SMALL_BODY_BYTES).toBe(64 * 1024)
  })

  test('chunked bodies (no Content-Length) are guarded', () => {
    expect(guardsBody(null)).toBe(true)
    expect(guardsBody(undefined)).toBe(true)
  })

  test('declared bodies up to 64 KiB are not; one byte more is', () => {
    expect(guardsBody('0')).toBe(false)
    expect(guardsBody('1')).toBe(false)
    expect(guardsBody(String(SMALL_BODY_BYTES - 1))).toBe(false)
    expect(guardsBody('65536')).toBe(false)
    expect(guardsBody('65537')).toBe(true)
    expect(guardsBody(String(1024 ** 3))).toBe(true)
  })

  test('a Content-Length that is not a number is guarded (never trusted as small)', () => {
    expect(guardsBody('garbage')).toBe(true)
    expect(guardsBody('12abc')).toBe(true)
    expect(guardsBody('NaN')).toBe(true)
    expect(guardsBody('Infinity')).toBe(true)
  })
})
