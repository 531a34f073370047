/** The data of one session: plain JSON values. */
export type SessionData = Record<string, unknown>

/**
 * A server-side session store. The cookie then carries only a sealed random id, so a
 * session can hold more than a cookie's 4 KB and be revoked from the server.
 */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>
  /** Saves `data`, to expire after `maxAgeSeconds`. */
  set(id: string, data: SessionData, maxAgeSeconds: number): Promise<void>
  delete(id: string): Promise<void>
}

export interface MemorySessionStoreOptions {
  /** Sessions kept at most; the least recently saved goes first. Default 10,000. */
  maxSessions?: number
  /** The clock, in milliseconds. Default `Date.now`. */
  now?: () => number
}

/**
 * Sessions in a `Map` of this process (or isolate: on Workers, requests of one user may
 * reach another isolate, so use `KVSessionStore` there). Bounded; no timer runs.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, { data: string; expires: number }>()
  readonly #maxSessions: number
  readonly #now: () => number

  constructor(options: MemorySessionStoreOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 10_000
    this.#now = options.now ?? Date.now
  }

  get size(): number {
    return this.#sessions.size
  }

  async get(id: string): Promise<SessionData | undefined> {
    const entry = this.#sessions.get(id)
    if (!entry) return undefined
    if (entry.expires <= this.#now()) {
      this.#sessions.delete(id)
      return undefined
    }
    // Stored as JSON so a caller mutating what it got cannot change the stored session.
    return JSON.parse(entry.data) as SessionData
  }

  async set(id: string, data: SessionData, maxAgeSeconds: number): Promise<void> {
    this.#sessions.delete(id)
    if (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.keys().next()
      if (!oldest.done) this.#sessions.delete(oldest.value)
    }
    const expires = this.#now() + maxAgeSeconds * 1000
    this.#sessions.set(id, { data: JSON.stringify(data), expires })
  }

  async delete(id: string): Promise<void> {
    this.#sessions.delete(id)
  }
}

/** The part of a Workers KV namespace binding this store uses. */
export interface KVNamespaceLike {
  get(key: string, type: 'json'): Promise<unknown>
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>
  delete(key: string): Promise<void>
}

/** KV refuses an `expirationTtl` under 60 seconds. */
const KV_MIN_TTL_SECONDS = 60

/**
 * Sessions in Workers KV: shared by every isolate and location. KV is eventually
 * consistent (a write can take up to a minute to be seen elsewhere), which suits sessions
 * read far more often than written.
 */
export class KVSessionStore implements SessionStore {
  readonly #kv: KVNamespaceLike
  readonly #prefix: string

  constructor(kv: KVNamespaceLike, options: { prefix?: string } = {}) {
    this.#kv = kv
    this.#prefix = options.prefix ?? 'session:'
  }

  async get(id: string): Promise<SessionData | undefined> {
    const data = await this.#kv.get(this.#prefix + id, 'json')
    return data && typeof data === 'object' ? (data as SessionData) : undefined
  }

  async set(id: string, data: SessionData, maxAgeSeconds: number): Promise<void> {
    await this.#kv.put(this.#prefix + id, JSON.stringify(data), {
      expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(maxAgeSeconds)),
    })
  }

  async delete(id: string): Promise<void> {
    await this.#kv.delete(this.#prefix + id)
  }
}
