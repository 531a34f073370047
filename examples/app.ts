/**
 * The one example service, served unchanged by examples/node, examples/workers and
 * examples/deno. It is also what the cross-runtime conformance suite (test/conformance)
 * exercises, so every route here is a behaviour checked on all three runtimes.
 */

import type { MiddlewareHandler } from 'hono'
import { Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { timingSafeEqual } from 'hono/utils/buffer'
import { validator } from 'hono/validator'
import {
  Broadcast,
  bearerIdentity,
  bodyLimit,
  ConnectionRefusedError,
  clientAddress,
  coalesce,
  concurrencyLimit,
  deadline,
  defineTasks,
  ExecutorQueueFull,
  ExecutorTaskError,
  errorHandler,
  forget,
  identity,
  type KVNamespaceLike,
  KVSessionStore,
  notFoundHandler,
  openConnection,
  permissionTable,
  rateLimit,
  remember,
  requireAuth,
  requirePermission,
  Service,
  type SessionVariables,
  security,
  serveStatic,
  session,
  sessionIdentity,
  stream,
  streamSSE,
  tokenTable,
  upgradeWebSocket,
} from '../src/index.ts'
import { clientRoutes } from './client-routes.ts'
import * as cpuTasks from './cpu-tasks.ts'
import { distributedRoutes } from './distributed-routes.ts'
import type { OtelBindings } from './otel-sdk.ts'
import { queueRoutes } from './queue-routes.ts'
import { exampleTelemetry, telemetryRoutes } from './telemetry.ts'

/** The bindings the example reads: wrangler.toml `[vars]` on Workers, the environment elsewhere. */
export type Bindings = OtelBindings & {
  /** Bearer token guarding `/admin`; unset means every request is refused. */
  API_TOKEN?: string
  /** Seals session cookies (≥ 32 characters); unset, a random per-process one is used. */
  SESSION_SECRET?: string
  /** Workers KV namespace for sessions; without it they are sealed in the cookie. */
  SESSIONS?: KVNamespaceLike
  /** Where `/pipe` finds its TCP echo service. */
  ECHO_HOST?: string
  ECHO_PORT?: string
  /** Tried when ECHO_PORT refuses the connection. */
  ECHO_FALLBACK_PORT?: string
  /** The TLS echo service for `/pipe?tls`; its certificate must be for ECHO_TLS_HOST. */
  ECHO_TLS_HOST?: string
  ECHO_TLS_PORT?: string
  /** The upstream the `/client` routes call (examples/client-routes.ts). */
  UPSTREAM_URL?: string
  /** `silent` turns the access log off (the test suites set it). */
  LOG_LEVEL?: string
}

// session() runs on every route (app.use below), so its variable is part of the app's type.
type AppEnv = { Bindings: Bindings; Variables: SessionVariables }

/**
 * Largest body of the note, form and hash routes, enforced while the body streams in.
 * Every other route has the service's default (1 MiB: `POST /login`, `POST /queue/jobs`).
 */
export const MAX_BODY_BYTES = 64 * 1024

export const app = new Hono<AppEnv>()
/** Request bodies: 1 MiB at most (the default maxBodyBytes), unless a route says otherwise. */
export const service = new Service(app)

// ---- lifecycle --------------------------------------------------------------------------

let startedAt: string | undefined

service.onStartup(() => {
  startedAt = new Date().toISOString()
})
service.onCleanup(() => {
  console.log('example: cleanup complete')
})

// ---- middleware -------------------------------------------------------------------------

/** Access log plus `Server-Timing`, the aiohttp seed's logging/timing middleware. */
function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const start = performance.now()
    await next()
    const ms = performance.now() - start
    c.res.headers.set('Server-Timing', `app;dur=${ms.toFixed(2)}`)
    if (c.env?.LOG_LEVEL !== 'silent') {
      console.log(`${c.req.method} ${c.req.path} ${c.res.status} ${ms.toFixed(1)}ms`)
    }
  }
}

/** Bearer tokens for the API: the one in the bindings, compared in constant time. */
const apiToken = bearerIdentity({
  realm: 'edgeio-example',
  verify: tokenTable((c) => ({ [(c.env as Bindings | undefined)?.API_TOKEN ?? '']: 'api-client' })),
})

/**
 * Demo accounts for the log-in form. A real service keeps password hashes (PBKDF2 or
 * argon2) in a database; the point here is the session and permission plumbing.
 */
const USERS: Record<string, { password: string; permissions: string[] }> = {
  alice: { password: 'wonderland', permissions: ['notes:delete'] },
  bob: { password: 'builder', permissions: [] },
}

let ephemeralSecret: string | undefined
/** Without SESSION_SECRET, sessions last as long as this process (or isolate). */
function sessionSecret(env: Bindings | undefined): string {
  if (env?.SESSION_SECRET) return env.SESSION_SECRET
  ephemeralSecret ??= Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) =>
    b.toString(16).padStart(2, '0')
  ).join('')
  return ephemeralSecret
}

/** Lowers a route's body limit to 64 KiB (413: `Payload Too Large: the limit is 65536 bytes`). */
const limitBody = bodyLimit({ maxBytes: MAX_BODY_BYTES })

// First, so that the request's span covers everything after it (examples/telemetry.ts:
// OTEL_DEBUG=1 prints the spans, OTEL_EXPORTER_OTLP_ENDPOINT sends them to a collector).
app.use(...exampleTelemetry(service))
app.use(accessLog())
app.use(
  session({
    secrets: (c) => sessionSecret(c.env as Bindings | undefined),
    // Served over plain http on localhost; behind TLS in production, leave `secure` on.
    secure: false,
    store: (c) => {
      const kv = (c.env as Bindings | undefined)?.SESSIONS
      return kv ? new KVSessionStore(kv) : undefined
    },
  })
)
app.use(
  security({
    identity: [sessionIdentity(), apiToken],
    authorization: permissionTable(
      Object.fromEntries(Object.entries(USERS).map(([name, user]) => [name, user.permissions]))
    ),
  })
)
app.onError(errorHandler)
app.notFound(notFoundHandler)

// ---- static files (examples/public; Workers assets in production) -----------------------

app.use('/static/*', serveStatic({ root: 'examples/public' }))

// ---- greetings (the aiohttp seed) -------------------------------------------------------

app.get('/', (c) => c.text('Hello, Anonymous'))
app.get('/hello/:name', (c) => c.text(`Hello, ${c.req.param('name')}`))
app.get('/health', (c) => c.json({ status: 'ok', startedAt: startedAt ?? null }))

// ---- forms: urlencoded and multipart ----------------------------------------------------

type FieldValue = string | { filename: string; size: number; type: string }

app.post(
  '/form',
  limitBody,
  validator('form', (form, c) => {
    if (Object.keys(form).length === 0 && !c.req.header('content-type')?.includes('form')) {
      throw new HTTPException(415, {
        message:
          'Unsupported Media Type: send application/x-www-form-urlencoded or multipart/form-data',
      })
    }
    return form
  }),
  async (c) => {
    const fields: Record<string, FieldValue | FieldValue[]> = {}
    for (const [key, value] of Object.entries(c.req.valid('form'))) {
      const describe = (v: string | File): FieldValue =>
        typeof v === 'string' ? v : { filename: v.name, size: v.size, type: v.type }
      fields[key] = Array.isArray(value) ? value.map(describe) : describe(value)
    }
    return c.json({ fields })
  }
)

// ---- a JSON resource with validation ----------------------------------------------------

interface Note {
  id: number
  text: string
  tags: string[]
}

const notes = new Map<number, Note>()
let nextNoteId = 1

/** Validates a note body; a malformed JSON body never gets here (400 from the validator). */
const noteBody = validator('json', (body: unknown, c) => {
  if (!/^application\/([\w.-]+\+)?json\b/i.test(c.req.header('content-type') ?? '')) {
    throw new HTTPException(415, { message: 'Unsupported Media Type: send application/json' })
  }
  const problems: string[] = []
  const { text, tags = [] } = (typeof body === 'object' && body !== null ? body : {}) as {
    text?: unknown
    tags?: unknown
  }
  if (typeof text !== 'string' || text.length === 0 || text.length > 1000) {
    problems.push('text must be a string of 1 to 1000 characters')
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    problems.push('tags must be an array of strings')
  }
  if (problems.length > 0) return c.json({ error: 'Invalid note', problems }, 422)
  return { text: text as string, tags: tags as string[] }
})

function findNote(id: string): Note {
  const note = notes.get(Number(id))
  if (!note) throw new HTTPException(404, { message: `Note ${id} not found` })
  return note
}

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
app.delete('/notes/:id', requirePermission('notes:delete'), (c) => {
  notes.delete(findNote(c.req.param('id')).id)
  return c.body(null, 204)
})

// ---- headers and cookies ----------------------------------------------------------------

app.get('/whoami', (c) => {
  const visits = Number(getCookie(c, 'visits') ?? 0) + 1
  setCookie(c, 'visits', String(visits), { path: '/', httpOnly: true, sameSite: 'Lax' })
  return c.json({
    userAgent: c.req.header('user-agent') ?? null,
    language: c.req.header('accept-language') ?? null,
    address: clientAddress(c) ?? null,
    visits,
  })
})

// ---- a protected route ------------------------------------------------------------------

app.get('/admin', requireAuth(apiToken), (c) => c.json({ admin: true, notes: notes.size }))

// ---- sessions: log in, who am I, log out ------------------------------------------------

const csrfCheck = csrf()

/**
 * Form posts authenticated by cookie: refuse those from other origins. Hono's csrf() does
 * the check (Origin, or a browser's Sec-Fetch-Site); its refusal is a plain-text
 * "Forbidden", so it is thrown again as the JSON error every other route answers, saying
 * why: clients other than browsers (curl) send no Origin unless told to.
 */
const sameOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  let allowed = false
  try {
    await csrfCheck(c, async () => {
      allowed = true
    })
  } catch (error) {
    if (!(error instanceof HTTPException && error.status === 403)) throw error
  }
  if (!allowed) {
    const origin = c.req.header('origin')
    const expected = new URL(c.req.url).origin
    throw new HTTPException(403, {
      message:
        origin === undefined
          ? `Forbidden: the Origin header is missing; send Origin: ${expected}`
          : `Forbidden: this Origin is not allowed; send Origin: ${expected}`,
    })
  }
  await next()
}

app.post(
  '/login',
  sameOrigin,
  validator('form', (form) => ({
    username: String(form.username ?? ''),
    password: String(form.password ?? ''),
  })),
  async (c) => {
    const { username, password } = c.req.valid('form')
    const user = Object.hasOwn(USERS, username) ? USERS[username] : undefined
    // Compare even for an unknown user, so timing does not tell which names exist.
    const matches = await timingSafeEqual(user?.password ?? '\u0000', password)
    if (!user || !matches) return c.json({ error: 'Unauthorized: wrong username or password' }, 401)
    await remember(c, username)
    return c.json({ user: username })
  }
)
app.post('/logout', sameOrigin, async (c) => {
  await forget(c)
  return c.body(null, 204)
})
/**
 * Keeps a note in the session. The session is sealed in the cookie, which browsers cap at
 * 4 KB: a note that does not fit fails with 500 and the reason (SessionTooLargeError, an
 * HTTPException), and no cookie is set, so the client keeps its previous session.
 */
app.post('/session/note', sameOrigin, limitBody, async (c) => {
  c.get('session').set('note', await c.req.text())
  return c.json({ stored: true })
})
app.get('/me', requireAuth(), async (c) => {
  const user = (await identity(c)) as string
  return c.json({ user, permissions: USERS[user]?.permissions ?? [] })
})

// ---- streaming --------------------------------------------------------------------------

app.get('/stream', (c) => {
  const count = Math.min(Number(c.req.query('n') ?? 5) || 5, 1000)
  const delay = Math.min(Number(c.req.query('delay') ?? 1) || 0, 1000)
  c.header('Content-Type', 'text/plain; charset=utf-8')
  return stream(c, async (out) => {
    for (let i = 1; i <= count; i++) {
      await out.write(`chunk ${i}\n`)
      await out.sleep(delay)
    }
  })
})

/**
 * Sends `?n` chunks (default 3), then fails: edgeio's stream() errors the body, so the
 * client sees the transfer aborted (no final chunk) rather than a complete 200.
 */
app.get('/stream/broken', (c) => {
  const count = Math.min(Number(c.req.query('n') ?? 3) || 0, 100)
  c.header('Content-Type', 'text/plain; charset=utf-8')
  return stream(c, async (out) => {
    for (let i = 1; i <= count; i++) {
      await out.write(`chunk ${i}\n`)
      await out.sleep(5)
    }
    throw new Error('deliberate failure part-way through a stream')
  })
})

// ---- background work with waitUntil -----------------------------------------------------

const jobs = new Map<string, 'running' | 'done'>()
let nextJobId = 1

app.post('/jobs', (c) => {
  const id = String(nextJobId++)
  const ms = Math.min(Number(c.req.query('ms') ?? 10) || 0, 10_000)
  jobs.set(id, 'running')
  c.executionCtx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, ms)).then(() => {
      jobs.set(id, 'done')
      console.log(`example: job ${id} done`)
    })
  )
  return c.json({ id, status: 'running' }, 202, { Location: `/jobs/${id}` })
})
app.get('/jobs/:id', (c) => {
  const status = jobs.get(c.req.param('id'))
  if (!status) throw new HTTPException(404, { message: 'No such job' })
  return c.json({ id: c.req.param('id'), status })
})

// ---- slow and long-polling requests (client disconnects, graceful shutdown) -------------

/**
 * A bug on purpose: a promise rejected with nobody to handle it. Served by edgeio it is
 * logged (with this request's method and path) and the process serves on, as on Workers.
 */
app.get('/fault/stray-rejection', async (c) => {
  await null
  void Promise.reject(new Error('stray rejection from /fault/stray-rejection'))
  return c.text('answered; the stray rejection is in the log')
})

app.get('/slow', async (c) => {
  const ms = Math.min(Number(c.req.query('ms') ?? 100) || 0, 30_000)
  await new Promise((resolve) => setTimeout(resolve, ms))
  return c.text(`slept ${ms} ms`)
})

interface Watch {
  state: 'waiting' | 'answered' | 'client-gone'
  /** After an answered request: did its signal fire once the response was sent? */
  abortedAfterResponse?: boolean
}
const watches = new Map<string, Watch>()

/**
 * Waits up to `ms` for nothing in particular and records whether the client left first
 * (the request's signal fired). After a normal answer it keeps watching the signal for a
 * moment: a signal that fires after a completed response is a bug (srvx#152).
 */
app.get('/long-poll/:id', async (c) => {
  const id = c.req.param('id')
  const ms = Math.min(Number(c.req.query('ms') ?? 30_000) || 0, 30_000)
  const signal = c.req.raw.signal
  const watch: Watch = { state: 'waiting' }
  watches.set(id, watch)
  const answered = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    function onAbort() {
      clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  if (!answered) {
    console.log(`example: long-poll ${id} aborted`)
    watch.state = 'client-gone'
    return c.body(null, 204) // nobody is listening any more
  }
  watch.state = 'answered'
  c.executionCtx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, 50)).then(() => {
      watch.abortedAfterResponse = signal.aborted
    })
  )
  return c.text('answered')
})
app.get('/long-poll/:id/state', (c) => {
  const watch = watches.get(c.req.param('id'))
  if (!watch) throw new HTTPException(404, { message: 'No such long-poll' })
  return c.json(watch)
})

// ---- WebSockets -------------------------------------------------------------------------

/** Echoes each message; messages over 4 KiB close the socket (1009), silence for 30 s too. */
app.get(
  '/ws/echo',
  upgradeWebSocket(
    () => ({
      onMessage(event, ws) {
        ws.send(`echo: ${typeof event.data === 'string' ? event.data : '(binary)'}`)
      },
    }),
    { maxMessageBytes: 4096, idleTimeoutMs: 30_000 }
  )
)

/**
 * Heartbeat: the server pings every 200 ms (Node; Deno pings after half the idle timeout)
 * and closes a socket that answers nothing, not even a pong, for 1 s with 1001.
 */
app.get(
  '/ws/heartbeat',
  upgradeWebSocket(
    () => ({
      onMessage(event, ws) {
        ws.send(`echo: ${typeof event.data === 'string' ? event.data : '(binary)'}`)
      },
    }),
    { idleTimeoutMs: 1000, heartbeatMs: 200 }
  )
)

/** A socket that says nothing for 300 ms is closed (1001, idle timeout): watch it happen. */
app.get(
  '/ws/quiet',
  upgradeWebSocket(() => ({}), { idleTimeoutMs: 300, heartbeatMs: 0 })
)

// ---- server-sent events with fan-out ----------------------------------------------------

let count = 0
const counter = new Broadcast<number>()

/** A live counter: every subscriber sees every change; a disconnect unsubscribes at once. */
app.get('/events/counter', (c) =>
  streamSSE(c, async (sse) => {
    const changes = counter.subscribe(c, { bufferSize: 16 })
    await sse.writeSSE({ event: 'count', data: String(count) })
    for await (const value of changes) await sse.writeSSE({ event: 'count', data: String(value) })
  })
)
app.post('/events/counter', (c) => {
  count++
  return c.json({ count, listeners: counter.publish(count) })
})
app.get('/events/counter/listeners', (c) => c.json({ listeners: counter.size }))

/** A page that uses both live channels from a browser: the counter (SSE) and the echo (WS). */
app.get('/live', (c) =>
  c.html(`<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>edgeio live</title>
<p>Count: <output id="count">…</output> <button id="increment">+1</button></p>
<p>Echo: <output id="echo">…</output></p>
<script>
  const events = new EventSource('/events/counter')
  events.addEventListener('count', (e) => { document.getElementById('count').textContent = e.data })
  document.getElementById('increment').onclick = () => fetch('/events/counter', { method: 'POST' })
  const socket = new WebSocket(location.origin.replace(/^http/, 'ws') + '/ws/echo')
  socket.onopen = () => socket.send('hello from the browser')
  socket.onmessage = (e) => { document.getElementById('echo').textContent = e.data }
</script>
</html>`)
)

// ---- a TCP "pipe" (the seed's asyncio.open_connection) --------------------------------

/**
 * Streams the request body through a TCP echo service and streams its answer back. When
 * the primary refuses the connection it fails over to ECHO_FALLBACK_PORT (unless
 * `?primary-only`): a refusal is a typed ConnectionRefusedError on every runtime. `?tls`
 * goes to the TLS echo service instead. The connection closes when the client leaves, or
 * after `?deadline=ms` (for runtimes that are not told when the client leaves). The body
 * streams through without being held, so the route lifts the service's 1 MiB body limit.
 */
app.post('/pipe', bodyLimit({ maxBytes: Number.POSITIVE_INFINITY }), async (c) => {
  const env = c.env as Bindings | undefined
  const tls = c.req.query('tls') !== undefined
  const hostname = tls ? (env?.ECHO_TLS_HOST ?? 'localhost') : (env?.ECHO_HOST ?? '127.0.0.1')
  const upstreams = tls
    ? ([['tls', Number(env?.ECHO_TLS_PORT)]] as const)
    : ([
        ['primary', Number(env?.ECHO_PORT)],
        [
          'fallback',
          c.req.query('primary-only') === undefined ? Number(env?.ECHO_FALLBACK_PORT) : 0,
        ],
      ] as const)
  if (!upstreams[0][1]) {
    throw new HTTPException(503, { message: 'No echo service configured (ECHO_PORT)' })
  }
  const deadlineMs = Number(c.req.query('deadline'))
  const signal =
    deadlineMs > 0
      ? AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(Math.min(deadlineMs, 60_000))])
      : c.req.raw.signal
  let conn: Awaited<ReturnType<typeof openConnection>> | undefined
  let used = ''
  for (const [name, port] of upstreams) {
    if (!port) continue
    try {
      conn = await openConnection(c, { hostname, port, tls, signal })
      used = name
      break
    } catch (error) {
      if (!(error instanceof ConnectionRefusedError)) throw error
    }
  }
  if (!conn) throw new HTTPException(502, { message: 'Bad Gateway: the echo service refused' })
  // Request body → socket (closing it sends FIN), socket → response body: both streamed.
  const upload = c.req.raw.body ? c.req.raw.body.pipeTo(conn.writable) : conn.writable.close()
  const open = conn
  c.executionCtx.waitUntil(upload.catch(() => open.close()))
  return c.body(conn.readable, 200, {
    'Content-Type': 'application/octet-stream',
    'X-Echo-Upstream': used,
  })
})

// ---- load shaping: rate limit and a cancelling deadline ---------------------------------

/**
 * Three requests a minute per client address: the socket's peer on Node and Deno,
 * CF-Connecting-IP on Workers (rateLimit's default key). Never a header the client writes
 * (an API key it can mint, X-Forwarded-For) unless verified: a new value would be a new
 * quota. Behind your own proxies, pass `trustProxy`; for users, key on the identity after
 * authentication (`key: (c) => identity(c)`).
 */
app.get('/limited', rateLimit({ limit: 3, windowMs: 60_000 }), (c) => c.json({ ok: true }))

/** An expensive render: two at a time, two more may wait, the rest are told to retry. */
app.get('/render/:id', concurrencyLimit({ max: 2, maxWaiting: 2, retryAfter: 2 }), async (c) => {
  const ms = Math.min(Number(c.req.query('ms') ?? 50) || 0, 10_000)
  await new Promise((resolve) => setTimeout(resolve, ms))
  return c.json({ id: c.req.param('id'), rendered: true })
})

const quoteRuns = new Map<string, number>()

/** A slow upstream lookup: concurrent identical requests share one lookup. */
app.get('/quote/:symbol', coalesce(), async (c) => {
  const symbol = c.req.param('symbol')
  const run = (quoteRuns.get(symbol) ?? 0) + 1
  quoteRuns.set(symbol, run)
  await new Promise((resolve) => setTimeout(resolve, Number(c.req.query('ms') ?? 100) || 0))
  return c.json({ symbol, price: symbol.length * 100 + run, run })
})

const reports = new Map<string, 'running' | 'done' | 'aborted'>()

/** Builds a "report" taking `work` ms; the deadline aborts it after 200 ms. */
app.get('/report', deadline({ ms: 200 }), async (c) => {
  const id = c.req.query('id') ?? 'anonymous'
  const work = Math.min(Number(c.req.query('work') ?? 10) || 0, 30_000)
  const signal = c.get('signal')
  reports.set(id, 'running')
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, work)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        reject(signal.reason)
      })
    })
  } catch (error) {
    reports.set(id, 'aborted')
    throw error
  }
  reports.set(id, 'done')
  return c.json({ id, report: `took ${work} ms` })
})
app.get('/report/:id', (c) => {
  const state = reports.get(c.req.param('id'))
  if (!state) throw new HTTPException(404, { message: 'No such report' })
  return c.json({ id: c.req.param('id'), state })
})

// ---- errors -----------------------------------------------------------------------------

app.get('/error', () => {
  throw new Error('deliberate failure with a secret stack')
})

// ---- CPU work off the event loop: an executor (src/executor) ----------------------------

/**
 * SHA-256 rounds on two worker threads (Node), two Web Workers (Deno) or inline (Workers,
 * which have no threads). Eight more jobs may wait; the next is refused with a 503.
 */
const hasher = service.executor(defineTasks(cpuTasks, './cpu-tasks.ts', import.meta.url), {
  size: 2,
  maxQueue: 8,
})
const hashes = new Map<string, 'running' | 'done' | 'aborted' | 'failed'>()

/**
 * Hashes the request body `rounds` times. The job stops with the request: when the client
 * leaves or the 10 s deadline passes, its thread is terminated.
 */
app.post('/hash', limitBody, deadline({ ms: 10_000 }), async (c) => {
  const id = c.req.query('id')
  const rounds = Number(c.req.query('rounds') ?? 1)
  const signal = c.get('signal')
  const data = await c.req.arrayBuffer()
  if (id) hashes.set(id, 'running')
  try {
    const digest = await hasher.run('sha256Rounds', { data, rounds }, { signal, transfer: [data] })
    if (id) hashes.set(id, 'done')
    return c.json({ rounds, digest })
  } catch (error) {
    if (id) hashes.set(id, signal.aborted ? 'aborted' : 'failed')
    if (signal.aborted) return c.body(null, 204) // the client left, or the deadline answers
    if (error instanceof ExecutorQueueFull) {
      return c.json({ error: 'Service Unavailable: too many hashes queued' }, 503, {
        'Retry-After': '1',
      })
    }
    // The task's RangeError, rebuilt on this side of the thread boundary.
    if (error instanceof ExecutorTaskError && (error.cause as Error).name === 'RangeError') {
      return c.json({ error: error.message }, 422)
    }
    throw error
  }
})
app.get('/hash/pool', (c) =>
  c.json({
    size: hasher.size,
    maxQueue: hasher.maxQueue,
    running: hasher.running,
    queued: hasher.queued,
  })
)
app.get('/hash/:id', (c) => {
  const state = hashes.get(c.req.param('id'))
  if (!state) throw new HTTPException(404, { message: 'No such hash' })
  return c.json({ id: c.req.param('id'), state })
})

// ---- a job queue: Cloudflare Queues on Workers, in process on Node and Deno ------------

app.route('/queue', queueRoutes(service))
app.route('/distributed', distributedRoutes)
app.route('/client', clientRoutes(service))
app.route('/telemetry', telemetryRoutes)
