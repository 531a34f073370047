import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// The upstream the example's `/client` routes call (examples/client-routes.ts), started by
// each conformance runner on a loopback port beside the echo service. It is watched from
// the test process through methods, not HTTP: asking it over HTTP would be one more request
// in flight, and would go through the very connections being counted.
//
//   GET /slow?ms=N&key=K                        answers `ok` after N ms (at most 60 s)
//   ANY /status?code=503&retryAfter=1&fail=1&key=K
//                                               the first `fail` attempts of K answer
//                                               `code` (with Retry-After when given),
//                                               every later one 200
//
// Everything is recorded per `key` (the query's; '' without one), so the cases of one run
// never read each other's requests.

/** One request the upstream received. */
export interface UpstreamRequest {
  readonly method: string
  /** Path and query, as sent. */
  readonly url: string
  /** performance.now() of the test process at arrival. */
  readonly at: number
  /** True once the response was written to the end. */
  answered: boolean
  /** True when the connection closed before the response was written to the end. */
  closedEarly: boolean
}

/** What the upstream saw for one key. */
export interface UpstreamKeyState {
  /** Every request, in arrival order. */
  readonly requests: readonly UpstreamRequest[]
  /** Requests not yet answered nor closed. */
  readonly inFlight: number
  /** The most requests in flight at once so far. */
  readonly maxInFlight: number
}

/** The upstream's face to the test process. */
export interface UpstreamServer {
  /** Its origin, `http://127.0.0.1:port` (no trailing slash). */
  readonly url: string
  /** What it saw for `key` so far (a live view: read it again after waiting). */
  key(key: string): UpstreamKeyState
  close(): Promise<void>
}

interface KeyState {
  requests: UpstreamRequest[]
  inFlight: number
  maxInFlight: number
  /** `/status` attempts so far, to script "first `fail` fail, then 200". */
  statusAttempts: number
}

const MAX_SLOW_MS = 60_000

/** Starts the upstream on an ephemeral loopback port; resolves once it listens. */
export async function startUpstreamServer(): Promise<UpstreamServer> {
  const keys = new Map<string, KeyState>()
  const stateOf = (key: string): KeyState => {
    let state = keys.get(key)
    if (state === undefined) {
      state = { requests: [], inFlight: 0, maxInFlight: 0, statusAttempts: 0 }
      keys.set(key, state)
    }
    return state
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream')
    const state = stateOf(url.searchParams.get('key') ?? '')
    const seen: UpstreamRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      at: performance.now(),
      answered: false,
      closedEarly: false,
    }
    state.requests.push(seen)
    state.inFlight++
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight)
    let open = true
    const leave = () => {
      if (!open) return
      open = false
      state.inFlight--
    }
    res.on('finish', () => {
      seen.answered = true
      leave()
    })
    // 'close' without 'finish' first: the client (or something between) closed the
    // connection before the answer was written.
    res.on('close', () => {
      if (!res.writableFinished) seen.closedEarly = true
      leave()
    })
    req.resume() // bodies are not read, only drained

    if (url.pathname === '/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 0) || 0, MAX_SLOW_MS)
      const timer = setTimeout(() => res.end('ok'), ms)
      res.on('close', () => clearTimeout(timer))
      return
    }
    if (url.pathname === '/status') {
      const attempt = ++state.statusAttempts
      const fail = Number(url.searchParams.get('fail') ?? 1)
      if (attempt > fail) {
        res.end('ok')
        return
      }
      const code = Number(url.searchParams.get('code') ?? 503)
      const retryAfter = url.searchParams.get('retryAfter')
      res.writeHead(code, retryAfter === null ? {} : { 'retry-after': retryAfter })
      res.end(`attempt ${attempt} failed`)
      return
    }
    res.writeHead(404).end('no such path')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    key: (key) => stateOf(key),
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    },
  }
}
