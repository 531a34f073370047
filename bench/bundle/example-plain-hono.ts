/**
 * The example service's routes (examples/app.ts) as a plain Hono worker: the bundle-size
 * floor a Hono user starts from. Every route is here with the same method and path; where
 * Hono alone has the piece (body limits, validators, cookies, CSRF, bearer auth, streaming,
 * SSE, WebSockets, waitUntil) the handler uses it as the example does. What only edgeio
 * provides (sessions and log-in, permissions, rate and concurrency limits, coalescing,
 * deadlines, the TCP pipe, the executor, WebSocket idle/heartbeat limits, SSE fan-out, the
 * lifecycle) answers 501 here. So this is the same routes with less behaviour: the gap to
 * the example is what those features plus edgeio's plumbing weigh, not pure overhead.
 */
import { type Context, Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { bodyLimit } from 'hono/body-limit'
import { upgradeWebSocket } from 'hono/cloudflare-workers'
import { getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { stream, streamSSE } from 'hono/streaming'
import { validator } from 'hono/validator'

type Bindings = { API_TOKEN?: string; ASSETS: { fetch(request: Request): Promise<Response> } }
const app = new Hono<{ Bindings: Bindings }>()
const edgeioOnly = (c: Context) => c.json({ error: 'Not Implemented without edgeio' }, 501)
const limitBody = bodyLimit({ maxSize: 64 * 1024 })
const notes = new Map<number, { id: number; text: string; tags: string[] }>()
let nextNoteId = 1
const noteBody = validator('json', (body: unknown, c) => {
  const { text, tags = [] } = (body ?? {}) as { text?: unknown; tags?: unknown }
  if (typeof text !== 'string' || !Array.isArray(tags))
    return c.json({ error: 'Invalid note' }, 422)
  return { text, tags: tags as string[] }
})
const findNote = (id: string) => {
  const note = notes.get(Number(id))
  if (!note) throw new HTTPException(404, { message: `Note ${id} not found` })
  return note
}
const jobs = new Map<string, string>()
let count = 0

app.onError((error, c) =>
  error instanceof HTTPException
    ? c.json({ error: error.message }, error.status)
    : c.json({ error: 'Internal Server Error' }, 500)
)
app.notFound((c) => c.json({ error: 'Not Found' }, 404))
app.get('/static/*', (c) => c.env.ASSETS.fetch(c.req.raw))
app.get('/', (c) => c.text('Hello, Anonymous'))
app.get('/hello/:name', (c) => c.text(`Hello, ${c.req.param('name')}`))
app.get('/health', (c) => c.json({ status: 'ok' }))
app.post(
  '/form',
  limitBody,
  validator('form', (form) => form),
  (c) => c.json({ fields: c.req.valid('form') })
)
app.get('/notes', (c) => c.json([...notes.values()]))
app.post('/notes', limitBody, noteBody, (c) => {
  const note = { id: nextNoteId++, ...c.req.valid('json') }
  notes.set(note.id, note)
  return c.json(note, 201, { Location: `/notes/${note.id}` })
})
app.get('/notes/:id', (c) => c.json(findNote(c.req.param('id'))))
app.put('/notes/:id', limitBody, noteBody, (c) => {
  const note = { ...findNote(c.req.param('id')), ...c.req.valid('json') }
  notes.set(note.id, note)
  return c.json(note)
})
app.delete('/notes/:id', edgeioOnly)
app.get('/whoami', (c) => {
  const visits = Number(getCookie(c, 'visits') ?? 0) + 1
  setCookie(c, 'visits', String(visits), { path: '/', httpOnly: true, sameSite: 'Lax' })
  return c.json({ userAgent: c.req.header('user-agent') ?? null, visits })
})
app.get(
  '/admin',
  bearerAuth({ verifyToken: (token, c) => token === (c.env as Bindings).API_TOKEN }),
  (c) => c.json({ admin: true, notes: notes.size })
)
app.post('/login', csrf(), edgeioOnly)
app.post('/logout', csrf(), edgeioOnly)
app.post('/session/note', csrf(), limitBody, edgeioOnly)
app.get('/me', edgeioOnly)
app.get('/stream', (c) =>
  stream(c, async (out) => {
    for (let i = 1; i <= 5; i++) await out.write(`chunk ${i}\n`)
  })
)
app.post('/jobs', (c) => {
  const id = String(jobs.size + 1)
  jobs.set(id, 'running')
  c.executionCtx.waitUntil(Promise.resolve().then(() => jobs.set(id, 'done')))
  return c.json({ id, status: 'running' }, 202)
})
app.get('/jobs/:id', (c) => c.json({ id: c.req.param('id'), status: jobs.get(c.req.param('id')) }))
app.get('/slow', async (c) => {
  await new Promise((resolve) => setTimeout(resolve, 100))
  return c.text('slept 100 ms')
})
app.get('/long-poll/:id', edgeioOnly)
app.get('/long-poll/:id/state', edgeioOnly)
const echo = upgradeWebSocket(() => ({
  onMessage(event, ws) {
    ws.send(`echo: ${typeof event.data === 'string' ? event.data : '(binary)'}`)
  },
}))
app.get('/ws/echo', echo)
app.get('/ws/heartbeat', edgeioOnly)
app.get('/ws/quiet', edgeioOnly)
app.get('/events/counter', (c) =>
  streamSSE(c, (sse) => sse.writeSSE({ event: 'count', data: String(count) }))
)
app.post('/events/counter', (c) => c.json({ count: ++count }))
app.get('/events/counter/listeners', edgeioOnly)
app.get('/live', (c) => c.html('<!doctype html><title>live</title>'))
app.post('/pipe', edgeioOnly)
app.get('/limited', edgeioOnly)
app.get('/render/:id', edgeioOnly)
app.get('/quote/:symbol', edgeioOnly)
app.get('/report', edgeioOnly)
app.get('/report/:id', edgeioOnly)
app.get('/error', () => {
  throw new Error('deliberate failure')
})
app.post('/hash', limitBody, edgeioOnly)
app.get('/hash/pool', edgeioOnly)
app.get('/hash/:id', edgeioOnly)

export default app
