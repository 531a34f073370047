import type { Cluster, Redis } from 'ioredis'
import type { KVNamespaceLike } from '../../middleware/session/store.ts'

/** What {@link RedisKV} takes besides its client. */
export interface RedisKVOptions {
  /** Put before every key, so that one Redis serves several apps. Default `'edgeio:kv:'`. */
  prefix?: string
}

/**
 * The part of Workers KV that edgeio's stores use (`get(key, 'json')`, `put` with
 * `expirationTtl`, `delete`), on Redis: `KVSessionStore(new RedisKV(redis))` gives Node and
 * Deno fleets the sessions Workers get from KV, so that a log-out on one process ends the
 * session on all of them. Unlike KV, a write is seen at once by every reader.
 *
 * The client stays the caller's: close it yourself (a service's cleanup hook). It may be a
 * Redis Cluster `Cluster`: every call touches one key, so no hash tag is needed.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis'
 * import { KVSessionStore, session } from 'edgeio'
 * import { RedisKV } from 'edgeio/redis'
 *
 * const redis = new Redis(process.env.REDIS_URL)
 * const sessions = new KVSessionStore(new RedisKV(redis))
 * app.use(session({ secrets: [secret], store: sessions }))
 * ```
 */
export class RedisKV implements KVNamespaceLike {
  readonly #client: Redis | Cluster
  readonly #prefix: string

  constructor(client: Redis | Cluster, options: RedisKVOptions = {}) {
    this.#client = client
    this.#prefix = options.prefix ?? 'edgeio:kv:'
  }

  /** The value stored under `key`, parsed as JSON; `null` when there is none (as KV). */
  async get(key: string, _type: 'json'): Promise<unknown> {
    const text = await this.#client.get(this.#prefix + key)
    return text === null ? null : (JSON.parse(text) as unknown)
  }

  /** Stores `value`, expiring after `expirationTtl` seconds when given. */
  async put(key: string, value: string, options: { expirationTtl?: number } = {}): Promise<void> {
    const ttl = options.expirationTtl
    if (ttl === undefined) {
      await this.#client.set(this.#prefix + key, value)
      return
    }
    if (!(Number.isInteger(ttl) && ttl > 0)) {
      throw new RangeError(`expirationTtl must be a whole number of seconds > 0, got ${ttl}`)
    }
    await this.#client.set(this.#prefix + key, value, 'EX', ttl)
  }

  async delete(key: string): Promise<void> {
    await this.#client.del(this.#prefix + key)
  }
}
