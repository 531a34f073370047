import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/client/index.ts'
import { startUpstream, type Upstream } from './upstream.ts'

// The permit of a call is held until its body is done, however the body is read.
let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url === '/empty') {
      res.statusCode = 204
      res.end()
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end('{"a":1}')
  })
})
afterAll(() => upstream.close())

describe('client response bodies', () => {
  it('stays a Response of its class, with its url and status', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(upstream.url)
    expect(res).toBeInstanceOf(Response)
    expect(res.url).toBe(upstream.url)
    expect(res.status).toBe(200)
    expect(res.bodyUsed).toBe(false)
    expect(client.inFlight).toBe(1)
    expect(await res.json()).toEqual({ a: 1 })
    expect(res.bodyUsed).toBe(true)
    expect(client.inFlight).toBe(0)
  })

  it('read through res.body to its end: the permit is released', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(upstream.url)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    const decoder = new TextDecoder()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    expect(text).toBe('{"a":1}')
    expect(client.inFlight).toBe(0)
    expect(await (await client.get(upstream.url)).text()).toBe('{"a":1}')
  })

  it('res.body cancelled: the permit is released', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(upstream.url)
    await res.body?.cancel()
    expect(client.inFlight).toBe(0)
  })

  it('res.body looked at, then read with blob(): content and type kept, permit released', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(upstream.url)
    expect(res.body).toBe(res.body) // the same stream each time
    const blob = await res.blob()
    expect(blob.type).toBe('application/json')
    expect(await blob.text()).toBe('{"a":1}')
    expect(client.inFlight).toBe(0)
  })

  it('a response without a body frees its permit at once', async () => {
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(`${upstream.origin}/empty`)
    expect(res.status).toBe(204)
    expect(client.inFlight).toBe(0)
  })
})
