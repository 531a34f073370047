import type { KVNamespaceLike } from './store.ts'

/**
 * Where `session()` records the cookie sessions that were destroyed or regenerated, so that
 * a copy of their cookie is refused until it would have expired anyway. Sessions kept in a
 * server store (`store`) need none: deleting the stored data revokes them.
 *
 * Checked once per request that brings a valid session cookie; written once per log-out
 * (`destroy()`) or log-in (`regenerate()`).
 */
export interface SessionRevocationStore {
  /** Whether the session `id`, whose cookie was first issued at `issuedAt` (ms), is revoked. */
  isRevoked(id: string, issuedAt: number): boolean | Promise<boolean>
  /** Revokes the session `id` (issued at `issuedAt`) until `expiresAt` (ms). */
  revoke(id: string, issuedAt: number, expiresAt: number): void | Promise<void>
}

export interface MemoryRevocationStoreOptions {
  /**
   * Revocations held at most. Default 100,000: ≈ 110 bytes each plus the 22-character id
   * (≈ 36 bytes), so ≈ 15 MB at the worst, measured on Node 24; a log-out adds one, and
   * each goes when its cookie would have expired. When full, expired ones go first; if none has, the oldest half is
   * folded into a cut-off (see `MemoryRevocationStore`), which never lets a revoked cookie
   * back in.
   */
  maxEntries?: number
  /** The clock, in milliseconds. Default `Date.now`. */
  now?: () => number
  /** Where the warning goes when a cut-off logs sessions out. Default `console.warn`. */
  warn?: (message: string) => void
}

interface Revocation {
  readonly issuedAt: number
  readonly expiresAt: number
}

/**
 * Revoked session ids in a `Map` of this process (Node, Deno) or isolate (Workers). One
 * lookup per request with a session cookie (≈ 0.1 µs); memory bounded by `maxEntries`.
 *
 * **Per process.** A log-out seen by one process is unknown to the others, and a restart
 * forgets every revocation: behind a load balancer over several processes, or on Workers
 * (many isolates), pass a shared store (`KVRevocationStore`, or your own over Redis or a
 * Durable Object), or keep sessions in a server store.
 *
 * Bounded without ever letting a revoked cookie back in: when full, revocations whose
 * cookies have expired are dropped; if that frees nothing, the oldest half is replaced by a
 * cut-off: every cookie issued at or before the latest of their issue times is refused.
 * That logs out some sessions that were never revoked (those older than the cut-off, a
 * warning says how many revocations were folded), never the reverse.
 */
export class MemoryRevocationStore implements SessionRevocationStore {
  readonly #revoked = new Map<string, Revocation>()
  readonly #maxEntries: number
  readonly #now: () => number
  readonly #warn: (message: string) => void
  /** Cookies issued at or before this are refused (-∞ until the table first overflows). */
  #cutOff = Number.NEGATIVE_INFINITY

  constructor(options: MemoryRevocationStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 100_000
    if (!(maxEntries >= 2)) throw new RangeError('MemoryRevocationStore: maxEntries must be ≥ 2')
    this.#maxEntries = maxEntries
    this.#now = options.now ?? Date.now
    this.#warn = options.warn ?? ((message) => console.warn(message))
  }

  /** Revocations held. */
  get size(): number {
    return this.#revoked.size
  }

  /** Cookies issued at or before this moment (ms) are refused; `-Infinity` when none are. */
  get cutOff(): number {
    return this.#cutOff
  }

  isRevoked(id: string, issuedAt: number): boolean {
    return issuedAt <= this.#cutOff || this.#revoked.has(id)
  }

  revoke(id: string, issuedAt: number, expiresAt: number): void {
    const now = this.#now()
    if (expiresAt <= now || issuedAt <= this.#cutOff || this.#revoked.has(id)) return
    if (this.#revoked.size >= this.#maxEntries) this.#compact(now)
    this.#revoked.set(id, { issuedAt, expiresAt })
  }

  /**
   * Frees room: one pass drops every expired revocation; if that frees less than half, the
   * oldest revocations (in the order they were made) are folded into the cut-off until
   * half is free. One O(n) pass per n/2 revocations at least: O(1) amortised.
   */
  #compact(now: number): void {
    for (const [id, revocation] of this.#revoked) {
      if (revocation.expiresAt <= now) this.#revoked.delete(id)
    }
    const target = Math.floor(this.#maxEntries / 2)
    if (this.#revoked.size <= target) return
    let folded = 0
    let cutOff = this.#cutOff
    for (const [id, revocation] of this.#revoked) {
      if (this.#revoked.size <= target) break
      cutOff = Math.max(cutOff, revocation.issuedAt)
      this.#revoked.delete(id)
      folded++
    }
    this.#cutOff = cutOff
    // Revocations the cut-off now covers are redundant.
    for (const [id, revocation] of this.#revoked) {
      if (revocation.issuedAt <= cutOff) this.#revoked.delete(id)
    }
    this.#warn(
      `edgeio session: ${this.#maxEntries} revocations held (maxEntries); ${folded} of the oldest ` +
        `were folded into a cut-off: session cookies issued before ${new Date(cutOff).toISOString()} ` +
        'are refused. Raise maxEntries, or use a shared or server-side store.'
    )
  }
}

/**
 * Revoked session ids in Workers KV, shared by every isolate and location; each entry
 * expires with the cookie it revokes. KV is eventually consistent: a revocation can take up
 * to a minute to be seen at other locations (the same holds for `KVSessionStore`'s deletes).
 * One KV read per request with a session cookie.
 */
export class KVRevocationStore implements SessionRevocationStore {
  readonly #kv: KVNamespaceLike
  readonly #prefix: string

  constructor(kv: KVNamespaceLike, options: { prefix?: string } = {}) {
    this.#kv = kv
    this.#prefix = options.prefix ?? 'revoked-session:'
  }

  async isRevoked(id: string): Promise<boolean> {
    return (await this.#kv.get(this.#prefix + id, 'json')) !== null
  }

  async revoke(id: string, _issuedAt: number, expiresAt: number): Promise<void> {
    const ttl = Math.ceil((expiresAt - Date.now()) / 1000)
    if (ttl <= 0) return
    // KV refuses an expirationTtl under 60 seconds: keeping it longer costs nothing.
    await this.#kv.put(this.#prefix + id, '1', { expirationTtl: Math.max(60, ttl) })
  }
}
