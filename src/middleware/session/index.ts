import type { Context, MiddlewareHandler } from 'hono'
import { generateCookie, getCookie } from 'hono/cookie'
import { HTTPException } from 'hono/http-exception'
import { MemoryRevocationStore, type SessionRevocationStore } from './revocation.ts'
import { seal, unseal } from './seal.ts'
import { Session } from './session.ts'
import type { SessionData, SessionStore } from './store.ts'

export type { MemoryRevocationStoreOptions, SessionRevocationStore } from './revocation.ts'
export { KVRevocationStore, MemoryRevocationStore } from './revocation.ts'
export { Session } from './session.ts'
export type {
  KVNamespaceLike,
  MemorySessionStoreOptions,
  SessionData,
  SessionStore,
} from './store.ts'
export { KVSessionStore, MemorySessionStore } from './store.ts'

/**
 * What `session()` puts on the context. Its middleware type carries it, so `c.var.session`
 * is typed on the routes of `new Hono().use(session(…))`, and on any app declared
 * `new Hono<{ Variables: SessionVariables }>()` (edgeio does not widen Hono's global
 * `ContextVariableMap`: an app without `session()` has no `c.var.session`).
 */
export interface SessionVariables {
  session: Session
}

export interface SessionOptions {
  /**
   * Secrets of at least 32 characters. The first seals new cookies; all of them open
   * existing ones, so a new secret goes first and an old one stays until its cookies expire.
   * A function reads them per request (from `c.env` on Workers).
   */
  secrets: Secrets | ((c: Context) => Secrets)
  /** Default `edgeio.session`. */
  cookieName?: string
  /** Lifetime in seconds, renewed whenever the session is saved. Default 14 days. */
  maxAge?: number
  /**
   * Where the data lives. Default: in the cookie itself, sealed (4 KB at most). A server
   * store keeps it server-side and the cookie holds only a sealed id; pass a function to
   * pick the store per request (a KV binding from `c.env`, say; `undefined`: the cookie).
   */
  store?: SessionStore | ((c: Context) => SessionStore | undefined)
  /**
   * Where cookie sessions (no `store`) that were destroyed (log-out) or regenerated (log-in)
   * are recorded, so that every copy of their cookie is refused from then on, not only the
   * browser's. Default: a `MemoryRevocationStore` of this process or isolate, made per
   * `session()` (bounded; per process, see there). Pass a shared one (`KVRevocationStore`,
   * or your own over Redis or a Durable Object) when several processes or isolates serve one
   * site; a function picks it per request. Cost: one lookup per request that brings a valid
   * session cookie, one write per log-out or log-in. `false`: no revocation, a copied cookie
   * then works until its `maxAge` runs out. Unused with a server `store`, whose deletes
   * revoke.
   */
  revocations?:
    | SessionRevocationStore
    | ((c: Context) => SessionRevocationStore | undefined)
    | false
  /** Default `true`; turn off only for plain-http development. */
  secure?: boolean
  /** Default `Lax`. */
  sameSite?: 'Strict' | 'Lax' | 'None'
  /** Default `/`. */
  path?: string
  domain?: string
}

type Secrets = string | readonly string[]

function checkSecrets(secrets: Secrets): readonly [string, ...string[]] {
  const list = typeof secrets === 'string' ? [secrets] : [...secrets]
  if (
    list.length === 0 ||
    list.some((secret) => typeof secret !== 'string' || secret.length < 32)
  ) {
    throw new RangeError('session: secrets must be at least 32 characters long')
  }
  return list as [string, ...string[]]
}

/** Browsers drop a cookie whose name and value exceed this (RFC 6265 §6.1). */
const COOKIE_LIMIT_BYTES = 4096
const FOURTEEN_DAYS = 14 * 24 * 3600

/**
 * A session too big for a cookie: store less, or use a server-side store. It is the
 * server's fault, not the client's, hence a 500 (an `HTTPException`, so an `onError`
 * handler such as `errorHandler` answers it with this message); no cookie is set.
 */
export class SessionTooLargeError extends HTTPException {
  override name = 'SessionTooLargeError'
  constructor(message: string) {
    super(500, { message })
  }
}

/**
 * What the cookie seals: the data itself with the session's id and when that id was issued
 * (what revocation keys on), or only the id of the data in a store.
 */
interface Sealed {
  exp: number
  data?: SessionData
  id?: string
  /** When the id was issued (ms): kept across saves, new with each `regenerate()`. */
  iat?: number
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/** 128 random bits, base64url: the id of a cookie session (22 characters). */
function cookieSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | undefined)?.then === 'function'

function isSealed(value: unknown): value is Sealed {
  return typeof value === 'object' && value !== null && typeof (value as Sealed).exp === 'number'
}

/**
 * Sessions for Hono: `c.get('session')` is a `Session`, saved only when it changed. By
 * default the data is sealed in the cookie (AES-256-GCM, WebCrypto) so nothing is stored
 * on the server; a tampered, expired or foreign cookie yields an empty session, never an
 * error. Cookies are `HttpOnly`, `Secure` and `SameSite=Lax` unless told otherwise.
 *
 * Log-out revokes: `destroy()` (and `regenerate()`, at log-in) makes every copy of the old
 * cookie worthless, not only the browser's. With a server store the stored data is deleted;
 * with cookie sessions the session's id is recorded in `revocations` until any copy of its
 * cookie would have expired (one lookup per request with a session cookie). Older copies
 * of a session that was merely saved again still open, with their older data: call
 * `regenerate()` whenever privileges change.
 *
 * @example
 * ```ts
 * app.use(session({ secrets: env.SESSION_SECRET }))
 * app.get('/visits', (c) => {
 *   const visits = (c.get('session').get<number>('visits') ?? 0) + 1
 *   c.get('session').set('visits', visits)
 *   return c.json({ visits })
 * })
 * ```
 */
export function session(
  options: SessionOptions
): MiddlewareHandler<{ Variables: SessionVariables }> {
  const { secrets: secretsOption } = options
  const fixedSecrets = typeof secretsOption === 'function' ? undefined : checkSecrets(secretsOption)
  const name = options.cookieName ?? 'edgeio.session'
  const maxAge = options.maxAge ?? FOURTEEN_DAYS
  const cookieOptions = {
    httpOnly: true,
    secure: options.secure ?? true,
    sameSite: options.sameSite ?? 'Lax',
    path: options.path ?? '/',
    ...(options.domain === undefined ? {} : { domain: options.domain }),
  } as const
  const revocationsOption = options.revocations ?? new MemoryRevocationStore()

  return async function session(c, next) {
    const secrets = fixedSecrets ?? checkSecrets((secretsOption as (c: Context) => Secrets)(c))
    const [sealingSecret] = secrets
    const store = typeof options.store === 'function' ? options.store(c) : options.store
    const revocations =
      store || revocationsOption === false
        ? undefined
        : typeof revocationsOption === 'function'
          ? revocationsOption(c)
          : revocationsOption
    const raw = getCookie(c, name)
    let id: string | undefined
    let issuedAt = 0
    let data: SessionData | undefined
    if (raw) {
      const opened = await unseal(raw, secrets, name)
      if (isSealed(opened) && opened.exp > Date.now()) {
        if (store && typeof opened.id === 'string') {
          data = await store.get(opened.id)
          if (data) id = opened.id
        } else if (
          !store &&
          typeof opened.data === 'object' &&
          opened.data !== null &&
          // A cookie session without an id cannot be revoked: it is not accepted.
          typeof opened.id === 'string' &&
          typeof opened.iat === 'number'
        ) {
          let revoked = revocations?.isRevoked(opened.id, opened.iat) ?? false
          if (isPromise(revoked)) revoked = await revoked
          if (!revoked) {
            data = opened.data
            id = opened.id
            issuedAt = opened.iat
          }
        }
      }
    }
    /**
     * Every copy of this session's cookie expires within `maxAge` from now (each save
     * renews it, so a copy saved later than the browser's lives longer than the browser's).
     */
    const revoke = async () => {
      if (!id || !revocations) return
      const done = revocations.revoke(id, issuedAt, Date.now() + maxAge * 1000)
      if (isPromise(done)) await done
    }
    const current = new Session(data ?? {}, data === undefined)
    c.set('session', current)

    await next()

    if (current.destroyed) {
      if (store && id) await store.delete(id)
      else await revoke()
      if (raw)
        c.res.headers.append(
          'Set-Cookie',
          generateCookie(name, '', { ...cookieOptions, maxAge: 0 })
        )
      return
    }
    if (!current.changed) return
    const exp = Date.now() + maxAge * 1000
    let sealed: string
    if (store) {
      if (id && current.regenerated) await store.delete(id)
      if (!id || current.regenerated) id = randomId()
      await store.set(id, current.toJSON(), maxAge)
      sealed = await seal({ exp, id } satisfies Sealed, sealingSecret, name)
    } else {
      if (id && current.regenerated) {
        await revoke()
        id = undefined
      }
      if (!id) {
        id = cookieSessionId()
        issuedAt = Date.now()
      }
      sealed = await seal(
        { exp, iat: issuedAt, id, data: current.toJSON() } satisfies Sealed,
        sealingSecret,
        name
      )
    }
    const cookie = generateCookie(name, sealed, { ...cookieOptions, maxAge })
    if (cookie.length > COOKIE_LIMIT_BYTES) {
      throw new SessionTooLargeError(
        `session cookie "${name}" would be ${cookie.length} bytes; browsers keep at most ${COOKIE_LIMIT_BYTES}. Store less in the session, or pass a server-side store.`
      )
    }
    c.res.headers.append('Set-Cookie', cookie)
  }
}
