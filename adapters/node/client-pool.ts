/**
 * A `fetch` for `createClient({ fetch })` on Node that keeps its own pool of keep-alive
 * connections, through undici's `Agent`: at most `connections` sockets per origin, reused
 * while they stay idle less than `keepAliveTimeout`, and closed with the client. Node's
 * global `fetch` shares one unbounded pool with every other caller in the process; this one
 * belongs to one client, sized to its per-host limit, and goes away when it closes.
 *
 * undici is an optional peer dependency, loaded on the first call: `edgeio/node` users who
 * never ask for a pool do not need it installed. Its responses are undici's `Response`
 * class: the same interface (Hono serves and proxies them as they are), but
 * `instanceof Response` against the global class is false.
 */
import type { Agent } from 'undici'
// Types only: `edgeio/node` must not load the client at startup for those who never use it.
import type { FetchFunction } from '../../src/client/index.ts'

type Undici = typeof import('undici')

/** Options of {@link nodeFetch}. */
export interface NodeFetchOptions {
  /**
   * Connections per origin (scheme, host and port). Default unlimited, as undici's; give it
   * the client's `limit.perHost`.
   */
  connections?: number
  /**
   * How long an idle connection is kept for the next call, in ms (a server's
   * `Keep-Alive: timeout` hint may shorten it). Default 4_000, undici's.
   */
  keepAliveTimeout?: number
  /** The longest keep-alive a server's hint may ask for, in ms. Default 600_000. */
  keepAliveMaxTimeout?: number
  /** How long connecting may take, in ms. Default 10_000. */
  connectTimeout?: number
}

/** A `fetch` with a connection pool of its own, and `close()` to end its connections. */
export interface PooledFetch extends FetchFunction {
  /**
   * Closes every connection of the pool (idle ones at once, busy ones once their
   * response is done); later calls fail. The client that was given this fetch calls it
   * when it closes.
   */
  close(): Promise<void>
  /** Open connections per origin, for tests and metrics (empty before the first call). */
  connections(): Record<string, number>
}

let loading: Promise<Undici> | undefined

/** undici, loaded once; a clear error when it is not installed. */
function loadUndici(): Promise<Undici> {
  loading ??= import('undici').catch((error: unknown) => {
    loading = undefined
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        'nodeFetch() pools connections with undici, which is not installed: run `npm install undici`',
        { cause: error }
      )
    }
    throw error
  })
  return loading
}

/**
 * The global `FormData` as undici's own: npm's undici does not recognise the one Node
 * bundles, and would send it as the text `[object FormData]`. Files keep their names.
 */
function undiciForm(u: Undici, form: FormData): InstanceType<Undici['FormData']> {
  const copy = new u.FormData()
  for (const [name, value] of form) {
    if (typeof value === 'string') copy.append(name, value)
    else copy.append(name, value, value.name)
  }
  return copy
}

/**
 * A `fetch` on undici with a keep-alive pool of its own, for `createClient({ fetch })`:
 * size it to the client's per-host limit, and the client closes it when it closes.
 *
 * @example
 * ```ts
 * import { createClient } from 'edgeio'
 * import { nodeFetch } from 'edgeio/node'
 *
 * const http = createClient({ limit: { perHost: 8 }, fetch: nodeFetch({ connections: 8 }) })
 * await http.close() // closes the pool's sockets too
 * ```
 */
export function nodeFetch(options: NodeFetchOptions = {}): PooledFetch {
  let undici: Undici | undefined
  let agent: Agent | undefined
  let closed = false
  const agentOptions: Agent.Options = {
    keepAliveTimeout: options.keepAliveTimeout ?? 4_000,
    keepAliveMaxTimeout: options.keepAliveMaxTimeout ?? 600_000,
    connectTimeout: options.connectTimeout ?? 10_000,
  }
  if (options.connections !== undefined && Number.isFinite(options.connections)) {
    if (!Number.isInteger(options.connections) || options.connections < 1) {
      throw new RangeError('connections must be an integer >= 1')
    }
    agentOptions.connections = options.connections
  }

  const call = (u: Undici, a: Agent, input: Request | string | URL, init?: RequestInit) => {
    const body = init?.body
    if (body instanceof FormData && !(body instanceof u.FormData)) {
      init = { ...init, body: undiciForm(u, body) as unknown as BodyInit }
    }
    // A Request of the runtime's own fetch is not one of undici's classes: pass its parts.
    if (typeof input === 'object' && !(input instanceof URL) && !(input instanceof u.Request)) {
      const request = input as Request
      const parts: Record<string, unknown> = {
        method: request.method,
        headers: request.headers,
        redirect: request.redirect,
        signal: request.signal,
      }
      if (request.body !== null) {
        parts.body = request.body
        parts.duplex = 'half'
      }
      return u.fetch(request.url, { ...parts, ...init, dispatcher: a } as never)
    }
    return u.fetch(input as string, { ...init, dispatcher: a } as never)
  }

  const pooled = ((input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    if (closed) return Promise.reject(new TypeError('nodeFetch: the pool is closed'))
    if (undici !== undefined && agent !== undefined) {
      return call(undici, agent, input, init) as unknown as Promise<Response>
    }
    return loadUndici().then((u) => {
      undici = u
      agent ??= new u.Agent(agentOptions)
      if (closed) throw new TypeError('nodeFetch: the pool is closed')
      return call(u, agent, input, init) as unknown as Promise<Response>
    })
  }) as PooledFetch
  let closing: Promise<void> | undefined
  // Idempotent: a client closed twice (closeOn and by hand) closes its pool once.
  pooled.close = (): Promise<void> => {
    closed = true
    closing ??= agent === undefined ? Promise.resolve() : Promise.resolve(agent.close())
    return closing
  }
  pooled.connections = () => {
    const out: Record<string, number> = {}
    if (agent === undefined) return out
    const stats = agent.stats as Record<string, { connected?: number }>
    for (const [origin, pool] of Object.entries(stats)) out[origin] = Number(pool.connected)
    return out
  }
  return pooled
}
