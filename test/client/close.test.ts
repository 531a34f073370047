import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientClosedError, createClient } from '../../src/client/index.ts'
import { gate, startUpstream, type Upstream } from './upstream.ts'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())

describe('client close', () => {
  it('drains calls in flight, refuses new ones', async () => {
    const hold = gate()
    upstream.handle(async (_req, res) => {
      await hold.promise
      res.end('late')
    })
    const client = createClient()
    const arrived = upstream.nextRequest()
    const call = client.get(upstream.url).then((r) => r.text())
    await arrived
    let closed = false
    const closing = client.close({ timeoutMs: 60_000 }).then(() => {
      closed = true
    })
    expect(client.closed).toBe(true)
    await expect(client.get(upstream.url)).rejects.toBeInstanceOf(ClientClosedError)
    expect(closed).toBe(false)
    hold.open()
    expect(await call).toBe('late')
    await closing
    expect(client.inFlight).toBe(0)
  })

  it('aborts what is left after timeoutMs; the upstream sees the close', async () => {
    upstream.handle(() => {})
    const client = createClient()
    const arrived = upstream.nextRequest()
    const disconnected = upstream.nextDisconnect()
    const call = client.get(upstream.url)
    await arrived
    await client.close({ timeoutMs: 50 })
    await expect(call).rejects.toBeInstanceOf(ClientClosedError)
    await disconnected
  })

  it('an unread body counts as in flight until close aborts it', async () => {
    upstream.handle((_req, res) => {
      res.writeHead(200)
      res.write('never ends')
    })
    const client = createClient({ limit: { perHost: 1 } })
    const res = await client.get(upstream.url)
    expect(client.inFlight).toBe(1)
    await client.close({ timeoutMs: 0 })
    expect(client.inFlight).toBe(0)
    await expect(res.text()).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('closeOn(service) closes the client at cleanup', async () => {
    const hooks: (() => Promise<void>)[] = []
    const client = createClient().closeOn({ onCleanup: (hook) => hooks.push(hook) })
    expect(hooks).toHaveLength(1)
    await hooks[0]?.()
    expect(client.closed).toBe(true)
  })
})

describe('client conveniences', () => {
  it('json() parses, sends Accept and a JSON body, and raises for a bad status', async () => {
    const upstream = await startUpstream(async (req, res) => {
      let body = ''
      for await (const chunk of req) body += chunk
      if (req.url === '/missing') {
        res.writeHead(404).end()
        return
      }
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({ accept: req.headers.accept, type: req.headers['content-type'], body })
      )
    })
    const client = createClient({ baseUrl: upstream.origin })
    const got = await client.json<{ accept: string; type: string; body: string }>('/x', {
      method: 'POST',
      json: { a: 1 },
    })
    expect(got).toEqual({ accept: 'application/json', type: 'application/json', body: '{"a":1}' })
    await expect(client.json('/missing')).rejects.toMatchObject({
      name: 'ClientResponseError',
      status: 404,
    })
    expect(client.inFlight).toBe(0)
    await upstream.close()
  })
})
