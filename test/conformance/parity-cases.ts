/**
 * Conformance cases for the last gaps of issue #6 (aiohttp parity): TCP over TLS, a 100 MB
 * pipe with bounded buffering, an abort that closes the upstream socket, WebSocket
 * heartbeats, the cookie-session size limit and 10,000 SSE connects without a leak.
 * The echo services these cases watch run in the test process (echo-server.ts).
 */
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { expect } from 'vitest'
import WebSocket from 'ws'
import type { ConformanceCase } from './cases.ts'
import { type Client, eventually } from './client.ts'

const encoder = new TextEncoder()

let unique = 0
/** A marker no other case or run sends, to find this case's connection at the echo side. */
const marker = (client: Client, what: string) =>
  `${what}-${client.runtime}-${Date.now()}-${++unique};`

/** Deterministic, non-repeating bytes for chunk `index`, so reordering or loss shows. */
function patternChunk(index: number, size: number): Uint8Array {
  const chunk = new Uint8Array(size)
  let x = (index + 1) * 2_654_435_761
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    chunk[i] = x & 0xff
  }
  return chunk
}

/** A request body that sends `head` and then stays open until the request is aborted. */
function openEndedBody(head: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(head))
    },
  })
}

/**
 * POSTs to a `/pipe` route with a body that sends `head` and stays open, and waits for the
 * echo of `head`: the pipe is then live end to end. Returns the echo server's record of the
 * upstream connection, checked to be open.
 */
async function openLivePipe(client: Client, path: string, head: string, signal: AbortSignal) {
  const res = await client.fetch(path, {
    method: 'POST',
    body: openEndedBody(head),
    duplex: 'half',
    signal,
  } as RequestInit)
  await (res.body as ReadableStream<Uint8Array>).getReader().read()
  const upstream = client.echo.find(head)
  expect(upstream?.closed).toBe(false)
  return upstream
}

/**
 * Polls `read` until its value stops changing for `quietMs`, and returns that value: the
 * point where a producer is held back. Fails after `timeoutMs` if it never settles.
 */
async function settled(read: () => number, quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = read()
  let since = Date.now()
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    const now = read()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      return now
    }
    if (Date.now() > deadline) throw new Error(`still moving after ${timeoutMs} ms (at ${now})`)
  }
}

/** Opens a `ws` client (which shows pings and can leave them unanswered). */
async function wsClient(client: Client, path: string, autoPong: boolean) {
  const socket = new WebSocket(`${client.origin.replace(/^http/, 'ws')}${path}`, { autoPong })
  const pings: number[] = []
  socket.on('ping', () => pings.push(Date.now()))
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  )
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  return { socket, pings, closed, openedAt: Date.now() }
}

const MiB = 1024 * 1024

/**
 * Where the client's own upload cannot show the service's backpressure, because a buffer
 * outside the service holds more than the 100 MB test can fill (measured on this machine;
 * the echo-side stall is still asserted there).
 */
const UPLOAD_STALL_EXEMPT: Partial<Record<Client['runtime'], string>> = {
  deno: "the client's upload runs far ahead of what Deno reads: a bare Deno.serve + Deno.connect pipe had read 18-19 MB of the body when the client (this process's fetch) had sent 41-101 MB, and this process then held ~55 MB of array buffers after a GC (measured); the excess sits on the client's side of the loopback, so its stall point says nothing of the service, whose echo-side stall is asserted",
  bun: "the loopback's own buffers: a bare Bun.serve + Bun.connect pipe had read 16-18 MB of the body (in chunks of at most 128 KiB, so the service holds one or two) when the client had sent 24-26 MB and the echo service had read ~10 MB; the rest sits in the kernel's socket buffers (tcp_rmem allows 32 MiB here). In this case the upload went on to 21-34 MB in six runs, against 20-23 MB for node (measured); the echo-side stall is asserted",
  workerd:
    "wrangler dev's proxy sits between the client and workerd: two more TCP connections and the proxy's buffers; the upload went on to 26–43 MB in three runs (measured)",
}

export const parityCases: ConformanceCase[] = [
  {
    name: 'openConnection over TLS: the pipe reaches a TLS echo service whose CA the runtime trusts',
    async run(client) {
      const head = marker(client, 'tls')
      const sent = new Uint8Array(64 * 1024)
      sent.set(patternChunk(1, sent.length))
      sent.set(encoder.encode(head))
      const res = await client.fetch('/pipe?tls', { method: 'POST', body: sent })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-echo-upstream')).toBe('tls')
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(sent)
      // It really went over TLS: the TLS service decrypted the marker.
      expect(client.echo.find(head)?.tls).toBe(true)
    },
  },
  {
    name: 'openConnection: 100 MB through the pipe arrive intact; a reader that stops holds the transfer back',
    timeoutMs: 90_000,
    async run(client) {
      // 100 MB, not 50: the kernel's loopback buffers alone (tcp_rmem lets each receive
      // buffer grow to 32 MiB here) held up to 28 MB on the echo side for bun on a loaded
      // machine, so half of 50 MB was not "far below" (measured: 10-28 MB over runs).
      const total = 100 * MiB
      const size = 64 * 1024
      const head = marker(client, 'bulk')
      let pulled = 0
      const sentHash = createHash('sha256')
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (pulled >= total) return controller.close()
            const chunk = patternChunk(pulled / size, size)
            if (pulled === 0) chunk.set(encoder.encode(head))
            sentHash.update(chunk)
            pulled += chunk.length
            controller.enqueue(chunk)
          },
        },
        { highWaterMark: 0 }
      )
      const res = await client.fetch('/pipe', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'accept-encoding': 'identity' },
        body,
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(200)
      // Nobody reads the answer yet: every buffer on the way (sockets, stream queues) fills
      // and then the transfer must stop, far below the total.
      const upstream = () => client.echo.find(head)?.received ?? 0
      await settled(() => pulled + upstream(), 500, 30_000)
      const [clientSent, echoed] = [pulled, upstream()]
      console.log(
        `[${client.runtime}] held back: client sent ${(clientSent / MiB).toFixed(1)} MB, the echo service got ${(echoed / MiB).toFixed(1)} MB`
      )
      // The service stops feeding the echo service once its own answer is not read.
      expect(echoed).toBeLessThan(total / 2)
      // And the client's upload stalls too, where no buffer outside the service is as big
      // as the transfer (see UPLOAD_STALL_EXEMPT).
      const exempt = UPLOAD_STALL_EXEMPT[client.runtime]
      if (exempt) console.log(`[${client.runtime}] upload stall not asserted: ${exempt}`)
      else expect(clientSent).toBeLessThan(total / 2)
      // Reading again resumes the transfer; everything comes back, in order.
      const receivedHash = createHash('sha256')
      let received = 0
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        receivedHash.update(chunk)
        received += chunk.byteLength
      }
      expect(pulled).toBe(total)
      expect(received).toBe(total)
      expect(receivedHash.digest('hex')).toBe(sentHash.digest('hex'))
    },
  },
  {
    name: 'openConnection: a client that leaves closes the upstream TCP connection',
    skip: {
      workerd:
        "a client's abort does not reach the worker through wrangler dev's proxy (measured), so the request's signal never fires; the deadline case shows the socket closing",
    },
    async run(client) {
      const head = marker(client, 'leave')
      const controller = new AbortController()
      const upstream = await openLivePipe(client, '/pipe', head, controller.signal)
      controller.abort()
      await eventually(async () => expect(upstream?.closed).toBe(true))
    },
  },
  {
    name: 'openConnection: a server-side deadline closes the upstream TCP connection',
    async run(client) {
      const head = marker(client, 'deadline')
      const controller = new AbortController()
      const upstream = await openLivePipe(client, '/pipe?deadline=300', head, controller.signal)
      await eventually(async () => expect(upstream?.closed).toBe(true))
      controller.abort() // the client still holds its upload open: let it go
    },
  },
  {
    name: 'WebSocket heartbeat: an idle client is pinged and kept; one that stops answering is closed with 1001',
    skip: {
      workerd:
        "a Worker's WebSocket has no ping() and workerd sends none itself (measured: a ws client on /ws/heartbeat saw 0 pings, and the idle timer closed it with 1001 since no pong is visible to count); the idle-timeout case covers silent sockets there",
    },
    async run(client) {
      // /ws/heartbeat: idle timeout 1 s; Node pings every 200 ms, Deno after 500 ms of silence.
      const alive = await wsClient(client, '/ws/heartbeat', true)
      await eventually(async () => {
        expect(alive.pings.length).toBeGreaterThanOrEqual(2)
        expect(Date.now() - alive.openedAt).toBeGreaterThan(1500)
      }, 10_000)
      // Silent for longer than the idle timeout, but answering pings: still open.
      expect(alive.socket.readyState).toBe(WebSocket.OPEN)
      alive.socket.send('still here')
      const echoed = await new Promise((resolve) =>
        alive.socket.once('message', (data) => resolve(String(data)))
      )
      expect(echoed).toBe('echo: still here')
      alive.socket.close(1000)
      await alive.closed

      const mute = await wsClient(client, '/ws/heartbeat', false)
      const { code } = await mute.closed
      expect(mute.pings.length).toBeGreaterThanOrEqual(1)
      expect(code).toBe(1001)
    },
  },
  {
    name: 'sessions: more than a 4 KB cookie can hold is a 500 with the reason, and no cookie is set',
    skip: {
      workerd:
        'the example keeps sessions in Workers KV there (wrangler.toml binds SESSIONS), so the cookie holds only a sealed id and the 5,000-byte note is stored (measured: 200)',
    },
    async run(client) {
      const login = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: client.origin },
        body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
      })
      await login.body?.cancel()
      const cookie = login.headers
        .getSetCookie()
        .find((c) => c.startsWith('edgeio.session='))
        ?.split(';')[0] as string
      const note = (text: string) =>
        client.fetch('/session/note', {
          method: 'POST',
          headers: { cookie, origin: client.origin },
          body: text,
        })
      const small = await note('a short note')
      expect(small.status).toBe(200)
      expect(small.headers.getSetCookie().join()).toMatch(/^edgeio\.session=v1\./)
      await small.body?.cancel()

      const big = await note('x'.repeat(5000))
      expect(big.status).toBe(500)
      expect(((await big.json()) as { error: string }).error).toMatch(
        /^session cookie "edgeio\.session" would be \d+ bytes; browsers keep at most 4096\./
      )
      expect(big.headers.getSetCookie()).toEqual([])
      // The client keeps its previous session.
      const me = await client.fetch('/me', { headers: { cookie } })
      expect(await me.json()).toMatchObject({ user: 'alice' })
    },
  },
  {
    name: 'SSE: 10,000 connects and disconnects leave no subscriber behind',
    timeoutMs: 60_000,
    skip: {
      workerd:
        "a client's abort does not reach the worker through wrangler dev's proxy (measured), so no stream learns that its client left",
    },
    async run(client) {
      const listeners = async () =>
        ((await (await client.fetch('/events/counter/listeners')).json()) as { listeners: number })
          .listeners
      const before = await listeners()
      const total = 10_000
      let started = 0
      let peak = 0
      // Raw HTTP/1.1 over node:net: fetch's own bookkeeping per request would dominate.
      const { hostname, port } = new URL(client.origin)
      const request = `GET /events/counter HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept-Encoding: identity\r\n\r\n`
      const connectAndLeave = async () => {
        while (started < total) {
          started++
          const socket = connect({ host: hostname, port: Number(port) })
          socket.on('error', () => {})
          socket.write(request)
          // The first event comes after the subscription: this client was a subscriber.
          let seen = ''
          for await (const chunk of socket) {
            seen += String(chunk)
            if (seen.includes('event: count')) break // leaving the loop destroys the socket
          }
          expect(seen).toMatch(/^HTTP\/1\.1 200 /)
        }
      }
      const t0 = Date.now()
      const sampler = setInterval(
        () =>
          void listeners().then(
            (n) => (peak = Math.max(peak, n)),
            () => {}
          ),
        100
      )
      try {
        await Promise.all(Array.from({ length: 50 }, connectAndLeave))
      } finally {
        clearInterval(sampler)
      }
      await eventually(async () => expect(await listeners()).toBe(before), 10_000)
      console.log(
        `[${client.runtime}] ${total} SSE connects/disconnects in ${Date.now() - t0} ms, peak ${peak} subscribers`
      )
      // Subscribers go as their clients go: the count stays near the 50 clients connected at
      // once (a disconnect is noticed a moment later: up to 95 seen on Deno), far from the
      // 10,000 a leak would keep.
      expect(peak).toBeLessThan(before + 500)
    },
  },
]
