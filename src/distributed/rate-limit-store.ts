import type { RateLimitResult, RateLimitRule, RateLimitStore } from '../quota/index.ts'
import type { CoordinatorNamespace } from './protocol.ts'

export interface DistributedRateLimitStoreOptions {
  /**
   * The coordinator object that counts `key`. Default: one object per key
   * (`rate-limit:<key>`), so keys never contend; return one name for all keys to keep every
   * quota in one object.
   */
  objectName?: (key: string) => string
}

/**
 * A `rateLimit()` store whose quotas live in the coordinator, so that a limit holds across
 * every isolate (Workers) or in this process (the local coordinator). One round trip per
 * request; the check and the update happen in one call, counted by the same `applyRule` as
 * the middleware's `MemoryStore`. Spent quotas are deleted by the coordinator's alarm.
 *
 * @example
 * ```ts
 * app.use(
 *   '/api/*',
 *   rateLimit({
 *     limit: 100,
 *     windowMs: 60_000,
 *     store: (c) => new DistributedRateLimitStore(c.env.COORDINATOR ?? local),
 *   })
 * )
 * ```
 */
export class DistributedRateLimitStore implements RateLimitStore {
  readonly #binding: CoordinatorNamespace
  readonly #objectName: (key: string) => string

  constructor(binding: CoordinatorNamespace, options: DistributedRateLimitStoreOptions = {}) {
    this.#binding = binding
    this.#objectName = options.objectName ?? ((key) => `rate-limit:${key}`)
  }

  consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const binding = this.#binding
    return binding.get(binding.idFromName(this.#objectName(key))).consume(key, rule)
  }
}
