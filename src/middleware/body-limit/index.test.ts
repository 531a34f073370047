import fc from 'fast-check'
import { Hono } from 'hono'
import { validator } from 'hono/validator'
import { describe, expect, test } from 'vitest'
import { errorHandler, Service } from '../../index.ts'
import { bodyLimit, bodyLimitError, DEFAULT_MAX_BODY_BYTES, PayloadTooLargeError } from './index.ts'

const MiB = 1024 * 1024

/** A body of `sizes` chunks that records how many bytes were pulled from it. */
function chunks(sizes: readonly number[]) {
  let next = 0
  const source = {
    pulled: 0,
    stream: new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const size = sizes[next++]
          if (size === undefined) return controller.close()
          source.pulled += size
          controller.enqueue(new Uint8Array(size).fill(0x61))
        },
      },
      { highWaterMark: 0 }
    ),
  }
  return source
}

/** A POST of `body`; `length` sets a Content-Length header (a stream sends none otherwise). */
function post(path: string, body: BodyInit, length?: number): Request {
  return new Request(`http://edgeio.test${path}`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: length === undefined ? {} : { 'content-length': String(length) },
  } as RequestInit)
}

/** The example's shape: JSON errors, a route that reads the body as text and one as JSON. */
function service(options?: ConstructorParameters<typeof Service>[1]) {
  const app = new Hono()
  app.onError(errorHandler)
  app.post('/text', async (c) => c.json({ bytes: (await c.req.text()).length }))
  app.post('/up', bodyLimit({ maxBytes: 4 * MiB }), async (c) =>
    c.json({ bytes: (await c.req.arrayBuffer()).byteLength })
  )
  app.post('/small', bodyLimit({ maxBytes: 1024 }), async (c) =>
    c.json({ bytes: (await c.req.arrayBuffer()).byteLength })
  )
  app.post(
    '/json',
    validator('json', (body) => body),
    (c) => c.json({ ok: true })
  )
  app.post('/stream', async (c) => {
    let bytes = 0
    for await (const chunk of c.req.raw.body ?? []) bytes += chunk.byteLength
    return c.json({ bytes })
  })
  return new Service(app, options)
}

const tooLarge = (limit: number) => ({ error: `Payload Too Large: the limit is ${limit} bytes` })

describe('the service body limit (default 1 MiB)', () => {
  test('the default is 1 MiB, as aiohttp', () => {
    expect(DEFAULT_MAX_BODY_BYTES).toBe(MiB)
    expect(service().maxBodyBytes).toBe(MiB)
  })

  test('a Content-Length over the limit is a 413 with the JSON error, reading nothing', async () => {
    const body = chunks([64 * 1024, 64 * 1024])
    const res = await service().fetch(post('/text', body.stream, 2 * MiB))
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual(tooLarge(MiB))
    expect(body.pulled).toBe(0)
  })

  test('a body of unknown length is refused while streaming, one chunk past the limit', async () => {
    const body = chunks(Array.from({ length: 64 }, () => 64 * 1024)) // 4 MiB
    const res = await service().fetch(post('/text', body.stream))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual(tooLarge(MiB))
    expect(body.pulled).toBe(MiB + 64 * 1024)
  })

  test('exactly at the limit passes, one byte more does not', async () => {
    const at = await service().fetch(post('/text', chunks([MiB - 1, 1]).stream))
    expect(at.status).toBe(200)
    expect(await at.json()).toEqual({ bytes: MiB })
    const declared = await service().fetch(post('/text', 'a'.repeat(MiB), MiB))
    expect(await declared.json()).toEqual({ bytes: MiB })
    const over = await service().fetch(post('/text', chunks([MiB, 1]).stream))
    expect(over.status).toBe(413)
  })

  test('a parser that swallows the failed read still answers 413 (Hono validator)', async () => {
    const request = post('/json', chunks([MiB, MiB]).stream)
    request.headers.set('content-type', 'application/json')
    const res = await service().fetch(request)
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual(tooLarge(MiB))
  })

  test('a body streamed from c.req.raw.body is limited too', async () => {
    const res = await service().fetch(post('/stream', chunks([MiB, MiB]).stream))
    expect(res.status).toBe(413)
    const ok = await service().fetch(post('/stream', chunks([1000, 24]).stream))
    expect(await ok.json()).toEqual({ bytes: 1024 })
  })

  test('maxBodyBytes sets the service limit; false or Infinity turns it off', async () => {
    const small = service({ maxBodyBytes: 10 })
    expect((await small.fetch(post('/text', 'a'.repeat(10)))).status).toBe(200)
    const res = await small.fetch(post('/text', 'a'.repeat(11)))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual(tooLarge(10))
    for (const maxBodyBytes of [false, Number.POSITIVE_INFINITY] as const) {
      const open = service({ maxBodyBytes })
      expect(open.fetch).toBe(open.app.fetch)
      const big = await open.fetch(post('/text', chunks([2 * MiB, 2 * MiB]).stream))
      expect(await big.json()).toEqual({ bytes: 4 * MiB })
    }
    expect(() => service({ maxBodyBytes: -1 })).toThrow(RangeError)
    expect(() => service({ maxBodyBytes: Number.NaN })).toThrow(RangeError)
  })

  test('GET, HEAD and bodies declared within the limit reach the app as they came', async () => {
    let seen: Request | undefined
    const app = new Hono()
    app.all('*', (c) => {
      seen = c.req.raw
      return c.body(null, 204)
    })
    const limited = new Service(app)
    for (const request of [
      new Request('http://edgeio.test/'),
      new Request('http://edgeio.test/', { method: 'HEAD' }),
      post('/', 'abc', 3),
    ]) {
      await limited.fetch(request)
      expect(seen).toBe(request)
    }
    const chunked = post('/', chunks([3]).stream)
    await limited.fetch(chunked)
    expect(seen).not.toBe(chunked) // counted: a copy with a counting body
  })

  test("a counted request's signal still follows the client's", async () => {
    const client = new AbortController()
    let signal: AbortSignal | undefined
    const app = new Hono()
    app.post('/', (c) => {
      signal = c.req.raw.signal
      return c.body(null, 204)
    })
    await new Service(app).fetch(
      new Request('http://edgeio.test/', {
        method: 'POST',
        body: chunks([1]).stream,
        duplex: 'half',
        signal: client.signal,
      } as RequestInit)
    )
    expect(signal?.aborted).toBe(false)
    client.abort(new Error('gone'))
    expect(signal?.aborted).toBe(true)
  })
})

describe('bodyLimit() per route', () => {
  test('raises the service limit, for declared and streamed bodies', async () => {
    const streamed = await service().fetch(post('/up', chunks([MiB, MiB, MiB]).stream))
    expect(await streamed.json()).toEqual({ bytes: 3 * MiB })
    const declared = await service().fetch(post('/up', new Uint8Array(3 * MiB), 3 * MiB))
    expect(await declared.json()).toEqual({ bytes: 3 * MiB })
    const over = await service().fetch(post('/up', chunks([2 * MiB, 2 * MiB, 1]).stream))
    expect(over.status).toBe(413)
    expect(await over.json()).toEqual(tooLarge(4 * MiB))
  })

  test('lowers the service limit: a declared length over it is refused before reading', async () => {
    const body = chunks([2048])
    const declared = await service().fetch(post('/small', body.stream, 2048))
    expect(declared.status).toBe(413)
    expect(await declared.json()).toEqual(tooLarge(1024))
    expect(body.pulled).toBe(0)
    const streamed = await service().fetch(post('/small', chunks([1000, 1000]).stream))
    expect(streamed.status).toBe(413)
    expect(await streamed.json()).toEqual(tooLarge(1024))
    const within = await service().fetch(post('/small', chunks([1000, 24]).stream))
    expect(await within.json()).toEqual({ bytes: 1024 })
  })

  test('works on a bare Hono app (no Service), and the innermost limit wins', async () => {
    const app = new Hono()
    app.onError(errorHandler)
    app.use(bodyLimit({ maxBytes: 100 }))
    app.post('/', async (c) => c.text(await c.req.text()))
    app.post('/more', bodyLimit({ maxBytes: 200 }), async (c) => c.text(await c.req.text()))
    expect((await app.fetch(post('/', chunks([100]).stream))).status).toBe(200)
    const refused = await app.fetch(post('/', chunks([60, 60]).stream))
    expect(refused.status).toBe(413)
    expect(await refused.json()).toEqual(tooLarge(100))
    expect((await app.fetch(post('/more', chunks([150]).stream))).status).toBe(200)
    expect((await app.fetch(post('/more', 'a'.repeat(201), 201))).status).toBe(413)
  })

  test('the refusal is a typed HTTPException, and bodyLimitError finds it for onError', async () => {
    let caught: unknown
    let found: PayloadTooLargeError | undefined
    const app = new Hono()
    app.onError((_error, c) => {
      found = bodyLimitError(c.req.raw)
      return c.text('custom', 413)
    })
    app.post('/', async (c) => {
      try {
        await c.req.arrayBuffer()
      } catch (error) {
        caught = error
        throw error
      }
      return c.text('never')
    })
    const res = await new Service(app, { maxBodyBytes: 8 }).fetch(post('/', chunks([9]).stream))
    expect(res.status).toBe(413)
    expect(found).toBeInstanceOf(PayloadTooLargeError)
    expect(found).toMatchObject({ status: 413, limit: 8 })
    expect(caught).toBe(found)
  })

  test('refuses invalid limits when the middleware is made', () => {
    expect(() => bodyLimit({ maxBytes: -5 })).toThrow(RangeError)
    expect(() => bodyLimit({ maxBytes: Number.NaN })).toThrow(RangeError)
    expect(typeof bodyLimit({ maxBytes: Number.POSITIVE_INFINITY })).toBe('function')
    expect(bodyLimit({ maxBytes: 1 }).name).toBe('bodyLimit')
  })

  test('property: refused iff the total passes the limit, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength: 24 }),
        fc.integer({ min: 0, max: 40_000 }),
        fc.constantFrom('service', 'route', 'declared') as fc.Arbitrary<
          'service' | 'route' | 'declared'
        >,
        async (sizes, limit, where) => {
          const total = sizes.reduce((a, b) => a + b, 0)
          const app = new Hono()
          app.onError(errorHandler)
          const read = async (c: { req: { arrayBuffer(): Promise<ArrayBuffer> } }) =>
            new Response(String((await c.req.arrayBuffer()).byteLength))
          if (where === 'service') app.post('/', read)
          else app.post('/', bodyLimit({ maxBytes: limit }), read)
          // A route's limit under a service default it may raise or lower.
          const s = new Service(app, { maxBodyBytes: where === 'service' ? limit : 10_000 })
          const body = chunks(sizes)
          const res = await s.fetch(
            post('/', body.stream, where === 'declared' ? total : undefined)
          )
          if (total > limit) {
            expect(res.status).toBe(413)
            expect(await res.json()).toEqual(tooLarge(limit))
            // Never more than one chunk past the limit is read (nothing, when declared).
            expect(body.pulled).toBeLessThanOrEqual(where === 'declared' ? 0 : limit + 4096)
          } else {
            expect(res.status).toBe(200)
            expect(await res.text()).toBe(String(total))
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})
