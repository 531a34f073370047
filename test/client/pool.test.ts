import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeFetch } from '../../adapters/node/client-pool.ts'
import { ClientClosedError, createClient } from '../../src/client/index.ts'

/** An upstream that counts the TCP connections it is given and the requests in flight. */
async function socketCountingUpstream() {
  const sockets = new Set<Socket>()
  let accepted = 0
  let inFlight = 0
  let peak = 0
  let onEmpty: (() => void)[] = []
  const server: Server = createServer((req, res) => {
    inFlight++
    peak = Math.max(peak, inFlight)
    req.resume()
    // Answered on the next turn, so that concurrent calls really overlap.
    setImmediate(() => {
      inFlight--
      res.end('ok')
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket: Socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => {
      sockets.delete(socket)
      if (sockets.size === 0) for (const wake of onEmpty.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    get accepted() {
      return accepted
    },
    get open() {
      return sockets.size
    },
    get peak() {
      return peak
    },
    /** Resolves once every connection has closed. */
    allClosed: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => onEmpty.push(r)),
    close: () => {
      onEmpty = []
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type Upstream = Awaited<ReturnType<typeof socketCountingUpstream>>
let upstream: Upstream | undefined
afterEach(async () => {
  await upstream?.close()
  upstream = undefined
})

describe('nodeFetch: the client on its own undici keep-alive pool', () => {
  it('opens at most perHost connections, reuses them, and closes them with the client', async () => {
    const up = await socketCountingUpstream()
    upstream = up
    const client = createClient({ limit: { perHost: 4 }, fetch: nodeFetch({ connections: 4 }) })
    const batch = () =>
      Promise.all(Array.from({ length: 40 }, () => client.get(up.url).then((r) => r.text())))
    expect(new Set(await batch())).toEqual(new Set(['ok']))
    expect(up.peak).toBeLessThanOrEqual(4)
    expect(up.accepted).toBeGreaterThan(0)
    expect(up.accepted).toBeLessThanOrEqual(4)
    const first = up.accepted
    // Kept alive: a second batch goes over the same connections.
    await batch()
    expect(up.accepted).toBe(first)
    expect(up.open).toBe(first)
    await client.close()
    await up.allClosed()
    expect(up.open).toBe(0)
    await expect(client.get(up.url)).rejects.toBeInstanceOf(ClientClosedError)
    await client.close() // a second close (closeOn and a manual one) is harmless
  })

  it('a pool smaller than limit.perHost carries the calls on its own sockets', async () => {
    const up = await socketCountingUpstream()
    upstream = up
    // The client lets 8 attempts out at once; the pool carries them on 2 sockets.
    const client = createClient({ limit: { perHost: 8 }, fetch: nodeFetch({ connections: 2 }) })
    await Promise.all(Array.from({ length: 30 }, () => client.get(up.url).then((r) => r.text())))
    expect(up.accepted).toBeLessThanOrEqual(2)
    await client.close()
    await up.allClosed()
  })

  it('a fetch with close() given to createClient is closed with it', async () => {
    const up = await socketCountingUpstream()
    upstream = up
    const pooled = nodeFetch({ connections: 3 })
    const client = createClient({ limit: { perHost: 3 }, fetch: pooled })
    await Promise.all(Array.from({ length: 12 }, () => client.get(up.url).then((r) => r.text())))
    expect(Object.values(pooled.connections()).reduce((a, b) => a + b, 0)).toBe(up.open)
    expect(up.open).toBeGreaterThan(0)
    await client.close()
    await up.allClosed()
    await expect(pooled('http://127.0.0.1:1/')).rejects.toThrow(/closed/)
  })

  it('sends a Request of the global fetch through undici, body included', async () => {
    const server = createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => {
        body += chunk
      })
      req.on('end', () => res.end(`${req.method} ${req.headers['x-a']} ${body}`))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = createClient({ limit: { perHost: 1 }, fetch: nodeFetch({ connections: 1 }) })
    try {
      const request = new Request(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'x-a': '1' },
        body: 'hello',
      })
      expect(await (await client.fetch(request)).text()).toBe('POST 1 hello')
    } finally {
      await client.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it("sends the global FormData as multipart, fields and files, not as '[object FormData]'", async () => {
    const server = createServer(async (req, res) => {
      // Read back with the global Request's own multipart parser.
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const form = await new Request('http://x/', {
        method: 'POST',
        headers: { 'content-type': String(req.headers['content-type']) },
        body: Buffer.concat(chunks),
      }).formData()
      const file = form.get('file') as File
      res.end(`${form.get('name')} ${file.name} ${await file.text()}`)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = createClient({ fetch: nodeFetch({ connections: 1 }) })
    try {
      const form = new FormData()
      form.append('name', 'edgeio')
      form.append('file', new Blob(['contents']), 'a.txt')
      const res = await client.post(`http://127.0.0.1:${port}/`, { body: form })
      expect(await res.text()).toBe('edgeio a.txt contents')
      // The same body given beside a Request of the global fetch.
      const request = new Request(`http://127.0.0.1:${port}/`, { method: 'POST' })
      const again = await client.fetch(request, { body: form })
      expect(await again.text()).toBe('edgeio a.txt contents')
    } finally {
      await client.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
