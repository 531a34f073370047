import type { SessionData } from './store.ts'

/**
 * One request's session: a small bag of JSON values. The middleware saves it only when it
 * changed, and `regenerate()` / `destroy()` say what should happen to its cookie.
 */
export class Session {
  #data: SessionData
  #changed = false
  #regenerated = false
  #destroyed = false
  /** `true` when the request brought no valid session. */
  readonly isNew: boolean

  constructor(data: SessionData, isNew: boolean) {
    this.#data = data
    this.isNew = isNew
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#data, key)
  }

  /** Stores a JSON-serialisable value. */
  set(key: string, value: unknown): void {
    this.#data[key] = value
    this.#changed = true
    this.#destroyed = false
  }

  delete(key: string): void {
    if (!this.has(key)) return
    delete this.#data[key]
    this.#changed = true
  }

  /** A copy of everything in the session. */
  toJSON(): SessionData {
    return structuredClone(this.#data)
  }

  /**
   * Keeps the data under a new identity: a new id in the store, a fresh cookie. Call it
   * when privileges change (log-in), so a session id planted before cannot ride along
   * (session fixation).
   */
  regenerate(): void {
    this.#regenerated = true
    this.#changed = true
  }

  /**
   * Empties the session and removes its cookie, revoking it: its stored copy is deleted, or
   * (cookie sessions) its id is recorded as revoked, so no copy of the cookie opens again.
   * Data set afterwards starts a new session, under a new id.
   */
  destroy(): void {
    this.#data = {}
    this.#destroyed = true
    this.#regenerated = true
  }

  get changed(): boolean {
    return this.#changed
  }
  get regenerated(): boolean {
    return this.#regenerated
  }
  get destroyed(): boolean {
    return this.#destroyed
  }
}
