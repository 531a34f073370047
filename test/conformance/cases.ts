/**
 * The cross-runtime conformance suite: one list of HTTP cases against the example service
 * (examples/app.ts), run unchanged on node, workerd, deno and bun. A case a runtime cannot
 * support names that runtime and the reason in `skip`; it is reported as skipped there.
 */
import { describe, expect, test } from 'vitest'
import { seal, unseal } from '../../src/middleware/session/seal.ts'
// The runtime-neutral part of edgeio/testing: the workerd-side type check includes this file.
import { openWebSocket, readEvents } from '../../testing/http.ts'
import type { ServerSentEvent } from '../../testing/types.ts'
import { bodyLimitCases } from './body-limit-cases.ts'
import { type Client, eventually, type Runtime, SESSION_SECRET } from './client.ts'
import { clientCases } from './client-cases.ts'
import { distributedCases } from './distributed-cases.ts'
import { executorCases } from './executor-cases.ts'
import { fuzzCases } from './fuzz-cases.ts'
import { type FromAddress, getFrom, login, sessionCookie, uniqueAddress } from './identities.ts'
import { parityCases } from './parity-cases.ts'
import { queueCases } from './queue-cases.ts'
import { robustnessCases } from './robustness-cases.ts'

export interface ConformanceCase {
  name: string
  skip?: Partial<Record<Runtime, string>>
  /** For the few cases that move a lot of data; the project's default otherwise. */
  timeoutMs?: number
  run(client: Client): Promise<void>
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

let unique = 0
/** An id no other case or run uses, for server-side state keyed by the client. */
const uniqueId = (runtime: Runtime) => `${runtime}-${Date.now()}-${++unique}`

/** A body stream of `size` bytes in 1 KiB chunks: no Content-Length, so it is chunked. */
function byteStream(size: number): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close()
      const chunk = new Uint8Array(Math.min(1024, size - sent)).fill(0x20)
      sent += chunk.length
      controller.enqueue(chunk)
    },
  })
}

/** Reads server-sent events from a response body, one `{ event, data }` at a time. */
function sseReader(res: Response) {
  const events = readEvents(res)
  return async (): Promise<ServerSentEvent> => {
    const { value, done } = await events.next()
    if (done) throw new Error('the event stream ended')
    return value
  }
}

/** Opens a WebSocket to the service and collects what happens on it. */
async function openSocket(client: Client, path: string) {
  const socket = await openWebSocket(client.origin, path)
  // Listeners added as `open` resolves: no message or close can come before the next task.
  const messages: string[] = []
  const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener('close', resolve))
  socket.addEventListener('message', (event) => messages.push(String(event.data)))
  return { socket, messages, closed }
}

const httpCases: ConformanceCase[] = [
  {
    name: 'openConnection: a refused connection is a typed error (the route answers 502)',
    async run(client) {
      const res = await client.fetch('/pipe?primary-only', { method: 'POST', body: 'x' })
      expect(res.status).toBe(502)
      expect(await res.json()).toEqual({ error: 'Bad Gateway: the echo service refused' })
    },
  },
  {
    name: 'GET / greets Anonymous as text',
    async run(client) {
      const res = await client.fetch('/')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await res.text()).toBe('Hello, Anonymous')
    },
  },
  {
    name: 'GET /hello/:name greets by a percent-decoded name',
    async run(client) {
      expect(await (await client.fetch('/hello/Ada')).text()).toBe('Hello, Ada')
      expect(await (await client.fetch('/hello/J%C3%BCrgen')).text()).toBe('Hello, Jürgen')
    },
  },
  {
    name: 'HEAD / answers the GET headers without a body',
    async run(client) {
      const res = await client.fetch('/', { method: 'HEAD' })
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('')
    },
  },
  {
    name: 'startup hooks ran before the first request',
    async run(client) {
      const body = (await (await client.fetch('/health')).json()) as { startedAt: string | null }
      expect(body.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    },
  },
  {
    name: 'the timing middleware adds Server-Timing to every response',
    async run(client) {
      for (const path of ['/', '/nowhere']) {
        const res = await client.fetch(path)
        await res.body?.cancel()
        expect(res.headers.get('server-timing')).toMatch(/^app;dur=\d+(\.\d+)?$/)
      }
    },
  },
  {
    name: 'an unknown route is a 404 with a JSON body',
    async run(client) {
      const res = await client.fetch('/no/such/route')
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual({ error: 'Not Found', path: '/no/such/route' })
    },
  },
  {
    name: 'a thrown error is a 500 with a JSON body and no stack trace',
    async run(client) {
      const res = await client.fetch('/error')
      expect(res.status).toBe(500)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({ error: 'Internal Server Error' })
      expect(text).not.toMatch(/deliberate|at |\.ts/)
      expect((await client.fetch('/')).status).toBe(200) // and the server is still up
    },
  },
  {
    name: 'notes: create, read, update, delete',
    async run(client) {
      const created = await client.fetch('/notes', json({ text: 'buy milk', tags: ['home'] }))
      expect(created.status).toBe(201)
      const note = (await created.json()) as { id: number; text: string; tags: string[] }
      expect(note).toMatchObject({ text: 'buy milk', tags: ['home'] })
      expect(created.headers.get('location')).toBe(`/notes/${note.id}`)

      expect(await (await client.fetch(`/notes/${note.id}`)).json()).toEqual(note)
      const listed = (await (await client.fetch('/notes')).json()) as { id: number }[]
      expect(listed.map((n) => n.id)).toContain(note.id)

      const updated = await client.fetch(`/notes/${note.id}`, {
        ...json({ text: 'buy oat milk' }),
        method: 'PUT',
      })
      expect(updated.status).toBe(200)
      expect(await updated.json()).toEqual({ id: note.id, text: 'buy oat milk', tags: [] })

      const anonymous = await client.fetch(`/notes/${note.id}`, { method: 'DELETE' })
      expect(anonymous.status).toBe(401)
      const bob = await login(client, 'bob', 'builder')
      const forbidden = await client.fetch(`/notes/${note.id}`, {
        method: 'DELETE',
        headers: { cookie: bob },
      })
      expect(forbidden.status).toBe(403)
      expect(await forbidden.json()).toEqual({ error: 'Forbidden: requires "notes:delete"' })
      const alice = await login(client, 'alice', 'wonderland')
      const deleted = await client.fetch(`/notes/${note.id}`, {
        method: 'DELETE',
        headers: { cookie: alice },
      })
      expect(deleted.status).toBe(204)
      const gone = await client.fetch(`/notes/${note.id}`)
      expect(gone.status).toBe(404)
      expect(await gone.json()).toEqual({ error: `Note ${note.id} not found` })
    },
  },
  {
    name: 'malformed JSON is a 400 with a JSON reason',
    async run(client) {
      const res = await client.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text": "unterminated',
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toEqual({ error: 'Malformed JSON in request body' })
    },
  },
  {
    name: 'a JSON body of the wrong shape is a 422 listing the problems',
    async run(client) {
      const res = await client.fetch('/notes', json({ text: '', tags: 'x' }))
      expect(res.status).toBe(422)
      expect(await res.json()).toEqual({
        error: 'Invalid note',
        problems: [
          'text must be a string of 1 to 1000 characters',
          'tags must be an array of strings',
        ],
      })
    },
  },
  {
    name: 'a body that is not JSON is a 415',
    async run(client) {
      const res = await client.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      })
      expect(res.status).toBe(415)
      expect(await res.json()).toEqual({ error: 'Unsupported Media Type: send application/json' })
    },
  },
  {
    name: 'a body over the limit with Content-Length is a 413 with a JSON reason',
    async run(client) {
      const res = await client.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'x'.repeat(70 * 1024) }),
      })
      expect(res.status).toBe(413)
      expect(await res.json()).toEqual({ error: 'Payload Too Large: the limit is 65536 bytes' })
    },
  },
  {
    name: 'a streamed body over the limit is a 413, enforced while streaming',
    skip: {
      workerd:
        'wrangler dev resets the connection of a client still uploading when the worker answers early (measured); the Content-Length case covers the 413',
    },
    async run(client) {
      const res = await client.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: byteStream(1024 * 1024),
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(413)
      expect(await res.json()).toEqual({ error: 'Payload Too Large: the limit is 65536 bytes' })
    },
  },
  {
    name: 'a streamed body under the limit is accepted',
    async run(client) {
      const bytes = new TextEncoder().encode(JSON.stringify({ text: 'streamed' }))
      const res = await client.fetch('/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 5))
            controller.enqueue(bytes.subarray(5))
            controller.close()
          },
        }),
        duplex: 'half',
      } as RequestInit)
      expect(res.status).toBe(201)
      expect(await res.json()).toMatchObject({ text: 'streamed' })
    },
  },
  {
    name: 'an urlencoded form is parsed, repeated fields as arrays',
    async run(client) {
      const res = await client.fetch('/form', {
        method: 'POST',
        body: new URLSearchParams([
          ['name', 'Ada Lovelace'],
          ['tag', 'a'],
          ['tag', 'b'],
        ]),
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ fields: { name: 'Ada Lovelace', tag: ['a', 'b'] } })
    },
  },
  {
    name: 'a multipart form is parsed, files described by name, size and type',
    async run(client) {
      const form = new FormData()
      form.append('title', 'report')
      form.append('file', new File(['hello, world'], 'hello.txt', { type: 'text/plain' }))
      const res = await client.fetch('/form', { method: 'POST', body: form })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({
        fields: {
          title: 'report',
          file: {
            filename: 'hello.txt',
            size: 12,
            // Bun gives every text/* File a charset (measured, Bun 1.4.5: even
            // new Blob([], { type: 'text/plain' }).type is 'text/plain;charset=utf-8').
            type: client.runtime === 'bun' ? 'text/plain;charset=utf-8' : 'text/plain',
          },
        },
      })
    },
  },
  {
    name: 'a malformed multipart body is a 400 with a JSON reason',
    async run(client) {
      const res = await client.fetch('/form', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
        body: 'this is not multipart at all',
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error).toMatch(/^Malformed FormData request/)
    },
  },
  {
    name: 'a form route refuses other media types with a 415',
    async run(client) {
      const res = await client.fetch('/form', json({ name: 'x' }))
      expect(res.status).toBe(415)
    },
  },
  {
    name: 'request headers and cookies are read, and a cookie is set',
    async run(client) {
      const res = await client.fetch('/whoami', {
        headers: { 'user-agent': 'conformance/1.0', 'accept-language': 'fr', cookie: 'visits=41' },
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        userAgent: 'conformance/1.0',
        language: 'fr',
        visits: 42,
      })
      const cookie = res.headers.get('set-cookie') ?? ''
      expect(cookie).toMatch(/^visits=42; /)
      expect(cookie).toMatch(/HttpOnly/)
      expect(cookie).toMatch(/SameSite=Lax/)
      expect(cookie).toMatch(/Path=\//)
    },
  },
  {
    name: 'the API route wants a bearer token: 401 without, 401 wrong, 400 malformed, 200 right',
    async run(client) {
      const without = await client.fetch('/admin')
      expect(without.status).toBe(401)
      expect(without.headers.get('www-authenticate')).toBe('Bearer realm="edgeio-example"')
      expect(await without.json()).toEqual({ error: 'Unauthorized: credentials required' })

      const wrong = await client.fetch('/admin', { headers: { authorization: 'Bearer nope' } })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('www-authenticate')).toBe(
        'Bearer realm="edgeio-example", error="invalid_token"'
      )
      expect(await wrong.json()).toEqual({ error: 'Unauthorized: invalid credentials' })

      const malformed = await client.fetch('/admin', { headers: { authorization: 'Basic abc' } })
      expect(malformed.status).toBe(400)
      expect(malformed.headers.get('www-authenticate')).toBe(
        'Bearer realm="edgeio-example", error="invalid_request"'
      )
      await malformed.body?.cancel()

      const right = await client.fetch('/admin', {
        headers: { authorization: `Bearer ${client.token}` },
      })
      expect(right.status).toBe(200)
      expect(await right.json()).toMatchObject({ admin: true })
    },
  },
  {
    name: 'a streaming response arrives in order, chunk by chunk',
    async run(client) {
      // identity: workerd gzips for clients that accept it, and gzip batches small chunks.
      const res = await client.fetch('/stream?n=5&delay=20', {
        headers: { 'accept-encoding': 'identity' },
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('content-length')).toBeNull()
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      let text = ''
      let reads = 0
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += r.value
        reads++
      }
      expect(text).toBe(Array.from({ length: 5 }, (_, i) => `chunk ${i + 1}\n`).join(''))
      expect(reads).toBeGreaterThan(1)
    },
  },
  {
    name: 'waitUntil work runs to completion after the response',
    async run(client) {
      const res = await client.fetch('/jobs?ms=50', { method: 'POST' })
      expect(res.status).toBe(202)
      const { id, status } = (await res.json()) as { id: string; status: string }
      expect(status).toBe('running')
      await eventually(async () => {
        expect(await (await client.fetch(`/jobs/${id}`)).json()).toEqual({ id, status: 'done' })
      })
    },
  },
  {
    name: 'a client disconnect aborts the request signal',
    skip: {
      workerd:
        "a client's abort does not reach the worker through wrangler dev's proxy (measured); enable_request_signal is set for production",
    },
    async run(client) {
      const id = uniqueId(client.runtime)
      const controller = new AbortController()
      const pending = client.fetch(`/long-poll/${id}?ms=20000`, { signal: controller.signal })
      pending.catch(() => {}) // the abort below rejects it; that is the point
      await eventually(async () => {
        expect(await (await client.fetch(`/long-poll/${id}/state`)).json()).toEqual({
          state: 'waiting',
        })
      })
      controller.abort()
      await expect(pending).rejects.toThrow()
      await eventually(async () => {
        expect(await (await client.fetch(`/long-poll/${id}/state`)).json()).toEqual({
          state: 'client-gone',
        })
      })
    },
  },
  {
    name: 'a request that completed normally never sees its signal abort',
    async run(client) {
      const id = uniqueId(client.runtime)
      const res = await client.fetch(`/long-poll/${id}?ms=1`)
      expect(await res.text()).toBe('answered')
      await eventually(async () => {
        expect(await (await client.fetch(`/long-poll/${id}/state`)).json()).toEqual({
          state: 'answered',
          abortedAfterResponse: false,
        })
      })
    },
  },
  {
    name: 'the client address comes from the connection (CF-Connecting-IP on Workers), never from X-Forwarded-For',
    async run(client) {
      const res = await client.fetch('/whoami', {
        headers: { 'cf-connecting-ip': '203.0.113.7', 'x-forwarded-for': '6.6.6.6' },
      })
      const { address } = (await res.json()) as { address: string | null }
      // In workerd, Cloudflare's edge sets CF-Connecting-IP (overwriting any client value);
      // on Node and Deno the header is just a spoofable header and the socket is the truth.
      if (client.runtime === 'workerd') expect(address).toBe('203.0.113.7')
      else expect(address).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    },
  },
  {
    name: 'rateLimit: 3 a minute per client address, then 429 with Retry-After and RateLimit headers; minted keys change nothing',
    async run(client) {
      const address = uniqueAddress()
      const responses: FromAddress[] = []
      for (let i = 0; i < 4; i++) {
        // Each request mints a new API key and a new X-Forwarded-For: neither is the key.
        const headers = {
          'x-api-key': uniqueId(client.runtime),
          'x-forwarded-for': uniqueAddress(),
        }
        responses.push(await getFrom(client, address, '/limited', headers))
      }
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429])
      expect(responses.map((r) => r.headers.get('ratelimit-remaining'))).toEqual([
        '2',
        '1',
        '0',
        '0',
      ])
      expect(responses[0]?.headers.get('ratelimit-limit')).toBe('3')
      expect(Number(responses[0]?.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
      // The 3 requests still weigh in the next window: a 4th fits 20 s into it, not at its
      // start, and RateLimit-Reset names the same wait as Retry-After.
      const retryAfter = responses[3]?.headers.get('retry-after')
      expect(Number(retryAfter)).toBeGreaterThan(60)
      expect(responses[3]?.headers.get('ratelimit-reset')).toBe(retryAfter)
      expect(JSON.parse(responses[3]?.body ?? '')).toEqual({ error: 'Too Many Requests' })
      // Another address has its own quota.
      expect((await getFrom(client, uniqueAddress(), '/limited')).status).toBe(200)
    },
  },
  {
    name: 'deadline: work that finishes in time answers normally',
    async run(client) {
      const id = uniqueId(client.runtime)
      const res = await client.fetch(`/report?id=${id}&work=5`)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ id, report: 'took 5 ms' })
      expect(await (await client.fetch(`/report/${id}`)).json()).toEqual({ id, state: 'done' })
    },
  },
  {
    name: 'deadline: slow work is aborted and the client gets a 504',
    async run(client) {
      const id = uniqueId(client.runtime)
      const res = await client.fetch(`/report?id=${id}&work=20000`)
      expect(res.status).toBe(504)
      expect(await res.json()).toEqual({ error: 'Gateway Timeout: no response within 200 ms' })
      await eventually(async () => {
        expect(await (await client.fetch(`/report/${id}`)).json()).toEqual({ id, state: 'aborted' })
      })
    },
  },
  {
    name: 'sessions: log in, who am I, log out',
    async run(client) {
      const anonymous = await client.fetch('/me')
      expect(anonymous.status).toBe(401)

      const res = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: client.origin },
        body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
      })
      expect(await res.json()).toEqual({ user: 'alice' })
      const setCookie = res.headers.getSetCookie().join('\n')
      expect(setCookie).toMatch(
        /edgeio\.session=v1\.[\w-]+; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax/
      )
      expect(setCookie).not.toMatch(/alice/) // sealed

      const cookie = sessionCookie(res)
      const me = await client.fetch('/me', { headers: { cookie } })
      expect(await me.json()).toEqual({ user: 'alice', permissions: ['notes:delete'] })

      const logout = await client.fetch('/logout', {
        method: 'POST',
        headers: { cookie, origin: client.origin },
      })
      expect(logout.status).toBe(204)
      expect(logout.headers.getSetCookie().join('\n')).toMatch(/edgeio\.session=; Max-Age=0/)
      const after = await client.fetch('/me', { headers: { cookie: sessionCookie(logout) } })
      expect(after.status).toBe(401)
      await after.body?.cancel()
    },
  },
  {
    name: 'sessions: after log-out, a copy of the cookie is refused too (revocation)',
    async run(client) {
      const cookie = await login(client, 'alice', 'wonderland')
      const copy = cookie // what a thief, or a shared computer's cache, kept
      const me = await client.fetch('/me', { headers: { cookie } })
      expect(await me.json()).toMatchObject({ user: 'alice' })
      const logout = await client.fetch('/logout', {
        method: 'POST',
        headers: { cookie, origin: client.origin },
      })
      expect(logout.status).toBe(204)
      const replayed = await client.fetch('/me', { headers: { cookie: copy } })
      expect(replayed.status).toBe(401)
      await replayed.body?.cancel()
      // Logging in again (with the revoked copy sent along) starts a new session that works.
      const again = await client.fetch('/login', {
        method: 'POST',
        headers: { cookie: copy, origin: client.origin },
        body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
      })
      expect(again.status).toBe(200)
      await again.body?.cancel()
      const fresh = await client.fetch('/me', { headers: { cookie: sessionCookie(again) } })
      expect(await fresh.json()).toMatchObject({ user: 'alice' })
      expect((await client.fetch('/me', { headers: { cookie: copy } })).status).toBe(401)
    },
  },
  {
    name: 'sessions: a wrong password is a 401 and sets no cookie',
    async run(client) {
      const res = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: client.origin },
        body: new URLSearchParams({ username: 'alice', password: 'guess' }),
      })
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ error: 'Unauthorized: wrong username or password' })
      expect(res.headers.getSetCookie()).toEqual([])
    },
  },
  {
    name: 'sessions: a cross-origin form post to log in is refused (CSRF)',
    async run(client) {
      const res = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
        body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
      })
      expect(res.status).toBe(403)
      expect(res.headers.getSetCookie()).toEqual([])
      expect(await res.json()).toEqual({
        error: `Forbidden: this Origin is not allowed; send Origin: ${client.origin}`,
      })
    },
  },
  {
    name: 'sessions: a form post without Origin (curl) is refused with a JSON reason',
    async run(client) {
      const res = await client.fetch('/login', {
        method: 'POST',
        body: new URLSearchParams({ username: 'alice', password: 'wonderland' }),
      })
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(res.headers.getSetCookie()).toEqual([])
      expect(await res.json()).toEqual({
        error: `Forbidden: the Origin header is missing; send Origin: ${client.origin}`,
      })
    },
  },
  {
    name: 'sessions: a tampered session cookie is an anonymous request, not an error',
    async run(client) {
      const cookie = await login(client, 'alice', 'wonderland')
      const tampered = `${cookie.slice(0, -4)}AAAA`
      const res = await client.fetch('/me', { headers: { cookie: tampered } })
      expect(res.status).toBe(401)
      const garbage = await client.fetch('/me', { headers: { cookie: 'edgeio.session=%%%' } })
      expect(garbage.status).toBe(401)
      await Promise.all([res.body?.cancel(), garbage.body?.cancel()])
    },
  },
  {
    name: 'concurrencyLimit: 2 run, 2 wait, the rest get 503 with Retry-After',
    async run(client) {
      const id = uniqueId(client.runtime)
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, i) => client.fetch(`/render/${id}-${i}?ms=400`))
      )
      const statuses = responses.map((r) => r.status).sort()
      expect(statuses).toEqual([200, 200, 200, 200, 503, 503])
      const refused = responses.find((r) => r.status === 503)
      expect(refused?.headers.get('retry-after')).toBe('2')
      expect(await refused?.json()).toEqual({
        error: 'Service Unavailable: too many requests in progress',
      })
      await Promise.all(responses.map((r) => (r.bodyUsed ? undefined : r.body?.cancel())))
    },
  },
  {
    name: 'coalesce: concurrent identical GETs share one run, each gets a full copy',
    async run(client) {
      const symbol = uniqueId(client.runtime).replace(/-/g, '')
      const responses = await Promise.all(
        Array.from({ length: 5 }, () => client.fetch(`/quote/${symbol}?ms=200`))
      )
      const bodies = await Promise.all(responses.map((r) => r.json()))
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
      for (const body of bodies)
        expect(body).toEqual({ symbol, price: symbol.length * 100 + 1, run: 1 })
      const later = await (await client.fetch(`/quote/${symbol}?ms=0`)).json()
      expect(later).toMatchObject({ run: 2 })
    },
  },
  {
    name: 'openConnection: a body piped through a TCP echo service comes back byte for byte',
    async run(client) {
      const sent = new Uint8Array(256 * 1024)
      for (let i = 0; i < sent.length; i++) sent[i] = (i * 31 + 7) & 0xff
      const res = await client.fetch('/pipe', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: sent,
      })
      expect(res.status).toBe(200)
      // The runner's primary port refuses: the route failed over on the typed error.
      expect(res.headers.get('x-echo-upstream')).toBe('fallback')
      const received = new Uint8Array(await res.arrayBuffer())
      expect(received.length).toBe(sent.length)
      expect(received).toEqual(sent)
    },
  },
  {
    name: 'WebSocket: messages are echoed, and a normal close is clean',
    async run(client) {
      const { socket, messages, closed } = await openSocket(client, '/ws/echo')
      socket.send('hello')
      socket.send('world')
      await eventually(async () => expect(messages).toEqual(['echo: hello', 'echo: world']))
      socket.close(1000, 'bye')
      expect((await closed).code).toBe(1000)
    },
  },
  {
    name: 'WebSocket: a socket silent past the idle timeout is closed with 1001',
    async run(client) {
      const { closed } = await openSocket(client, '/ws/quiet')
      const event = await closed
      expect(event.code).toBe(1001)
      expect(event.reason).toBe('idle timeout')
    },
  },
  {
    name: 'WebSocket: a message over the size limit closes the socket with 1009',
    async run(client) {
      const { socket, messages, closed } = await openSocket(client, '/ws/echo')
      socket.send('x'.repeat(5000))
      const event = await closed
      expect(event.code).toBe(1009)
      expect(messages).toEqual([])
    },
  },
  {
    name: 'SSE: a live counter fans every change out to every subscriber',
    async run(client) {
      const listen = async () => {
        const res = await client.fetch('/events/counter', {
          headers: { 'accept-encoding': 'identity' },
          signal: controller.signal,
        })
        expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
        return sseReader(res)
      }
      const controller = new AbortController()
      const [a, b] = await Promise.all([listen(), listen()])
      const start = Number((await a()).data)
      expect(Number((await b()).data)).toBe(start)
      await eventually(async () => {
        const { listeners } = (await (await client.fetch('/events/counter/listeners')).json()) as {
          listeners: number
        }
        expect(listeners).toBeGreaterThanOrEqual(2)
      })
      for (let i = 1; i <= 2; i++) {
        const res = await client.fetch('/events/counter', { method: 'POST' })
        expect(res.status).toBe(200)
        await res.body?.cancel()
      }
      for (const next of [a, b]) {
        const events = [await next(), await next()]
        expect(events.map((e) => e.event)).toEqual(['count', 'count'])
        // Other runs may count too, but each subscriber sees increasing values.
        const values = events.map((e) => Number(e.data))
        expect(values[0]).toBeGreaterThan(start)
        expect(values[1]).toBeGreaterThan(values[0] as number)
      }
      controller.abort()
      // Leave no subscriber for the next case (where the runtime reports disconnects).
      if (client.runtime !== 'workerd') {
        await eventually(async () => {
          const res = await client.fetch('/events/counter/listeners')
          expect(await res.json()).toEqual({ listeners: 0 })
        })
      }
    },
  },
  {
    name: 'SSE: a subscriber that disconnects is removed at once',
    skip: {
      workerd:
        "a client's abort does not reach the worker through wrangler dev's proxy (measured), so the stream is not told",
    },
    async run(client) {
      const listeners = async () =>
        ((await (await client.fetch('/events/counter/listeners')).json()) as { listeners: number })
          .listeners
      const before = await listeners()
      const controller = new AbortController()
      const res = await client.fetch('/events/counter', {
        headers: { 'accept-encoding': 'identity' },
        signal: controller.signal,
      })
      await sseReader(res)()
      expect(await listeners()).toBe(before + 1)
      controller.abort()
      await eventually(async () => expect(await listeners()).toBe(before))
    },
  },
  {
    name: 'static files: served with a type, missing ones fall through to the JSON 404',
    async run(client) {
      const res = await client.fetch('/static/hello.txt')
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await res.text()).toBe('Hello from a static file.\n')
      const missing = await client.fetch('/static/missing.txt')
      expect(missing.status).toBe(404)
      expect(await missing.json()).toEqual({ error: 'Not Found', path: '/static/missing.txt' })
    },
  },
  {
    name: 'static files: a path that climbs out of the folder is never served',
    async run(client) {
      // `..` segments are resolved by the URL parser; an encoded slash reaches the server.
      for (const path of ['/static/..%2f..%2fpackage.json', '/static/..%5c..%5cpackage.json']) {
        const res = await client.fetch(path)
        expect(res.status).toBe(404)
        expect(await res.text()).not.toMatch(/"name": "edgeio"/)
      }
    },
  },
  {
    name: 'static files: a NUL byte in the path falls through to the 404, never a 500',
    async run(client) {
      for (const path of ['/static/%00', '/static/hello.txt%00.png']) {
        const res = await client.fetch(path)
        expect(res.status).toBe(404)
        await res.body?.cancel()
      }
    },
  },
  {
    name: 'static files: ETag with If-None-Match gives 304; a byte range gives 206',
    async run(client) {
      const first = await client.fetch('/static/hello.txt')
      const etag = first.headers.get('etag')
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/)
      await first.body?.cancel()
      const again = await client.fetch('/static/hello.txt', {
        headers: { 'if-none-match': etag as string },
      })
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
      const part = await client.fetch('/static/hello.txt', { headers: { range: 'bytes=0-4' } })
      expect(part.status).toBe(206)
      expect(part.headers.get('content-range')).toBe('bytes 0-4/26')
      expect(await part.text()).toBe('Hello')
      const tail = await client.fetch('/static/hello.txt', { headers: { range: 'bytes=-6' } })
      expect(await tail.text()).toBe('file.\n')
      const beyond = await client.fetch('/static/hello.txt', {
        headers: { range: 'bytes=100-200' },
      })
      expect(beyond.status).toBe(416)
      await beyond.body?.cancel()
    },
  },
  {
    name: 'sessions: a replayed cookie past its expiry is refused; the same one re-sealed in time works',
    async run(client) {
      const cookie = await login(client, 'alice', 'wonderland')
      const [name, value] = cookie.split('=') as [string, string]
      const opened = (await unseal(value, [SESSION_SECRET], name)) as { exp: number }
      expect(opened.exp).toBeGreaterThan(Date.now())
      const reseal = async (exp: number) =>
        `${name}=${await seal({ ...opened, exp }, SESSION_SECRET, name)}`
      const expired = await client.fetch('/me', {
        headers: { cookie: await reseal(Date.now() - 1000) },
      })
      expect(expired.status).toBe(401)
      await expired.body?.cancel()
      const valid = await client.fetch('/me', { headers: { cookie: await reseal(opened.exp) } })
      expect(await valid.json()).toMatchObject({ user: 'alice' })
    },
  },
]

/** Every case, run in this order on each runtime. */
export const cases: ConformanceCase[] = [
  ...httpCases,
  ...parityCases,
  ...executorCases,
  ...queueCases,
  ...distributedCases,
  ...bodyLimitCases,
  ...fuzzCases,
  ...robustnessCases,
  ...clientCases,
]

/** Which cases a runner registers, and under what name. */
export interface ConformanceSelection {
  /** The describe block's name: the runtime, plus what differs (`node+redis`). */
  label?: string
  /** The cases to run. Default: every case. */
  cases?: readonly ConformanceCase[]
}

/**
 * Registers every case (or `selection.cases`) against `client`'s runtime: the one loop the
 * node, deno, bun and workerd runners share. A case that names this runtime in `skip` is
 * reported skipped, with why.
 */
export function describeConformance(client: Client, selection: ConformanceSelection = {}): void {
  describe(`conformance [${selection.label ?? client.runtime}]`, () => {
    for (const c of selection.cases ?? cases) {
      const reason = c.skip?.[client.runtime]
      if (reason) test.skip(`${c.name} (skipped on ${client.runtime}: ${reason})`, () => {})
      else test(c.name, () => c.run(client), c.timeoutMs)
    }
  })
}
