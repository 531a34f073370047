import type { Context } from 'hono'
import { timingSafeEqual } from 'hono/utils/buffer'
import type { Session, SessionVariables } from '../session/index.ts'

/**
 * Who the user is (aiohttp_security's identity policy): read from the request, and for
 * policies that can, remembered at log-in and forgotten at log-out.
 */
export interface IdentityPolicy {
  /** The user's identity, or `undefined` when the request does not prove one. */
  identify(c: Context): string | undefined | Promise<string | undefined>
  remember?(c: Context, identity: string): void | Promise<void>
  forget?(c: Context): void | Promise<void>
  /**
   * The `WWW-Authenticate` challenge a 401 carries for this policy, if it has one.
   * `invalid` is true when the request brought credentials that did not verify.
   */
  challenge?(c: Context, invalid: boolean): string | undefined
}

/** What a user may do (aiohttp_security's authorization policy). */
export interface AuthorizationPolicy {
  permits(identity: string, permission: string, c: Context): boolean | Promise<boolean>
}

/** A request whose Authorization header is not a well-formed bearer credential (400). */
export class MalformedCredentialsError extends Error {
  override name = 'MalformedCredentialsError'
}

/**
 * Identity kept in the session (see `session()`): `remember` regenerates the session (no
 * fixation) and stores the identity; `forget` destroys the session.
 *
 * @example
 * ```ts
 * app.use(session({ secrets }), security({ identity: sessionIdentity() }))
 * ```
 */
export function sessionIdentity(options: { key?: string } = {}): IdentityPolicy {
  const key = options.key ?? 'identity'
  return {
    identify(c) {
      const identity = sessionOf(c)?.get(key)
      return typeof identity === 'string' ? identity : undefined
    },
    remember(c, identity) {
      const session = sessionOf(c)
      if (!session) throw new Error('sessionIdentity: add the session() middleware first')
      session.regenerate()
      session.set(key, identity)
    },
    forget(c) {
      sessionOf(c)?.destroy()
    },
  }
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i

/**
 * Identity from `Authorization: Bearer <token>` (RFC 6750). `verify` maps a token to an
 * identity; compare secrets with `tokenTable`, which takes constant time.
 *
 * @example
 * ```ts
 * const api = bearerIdentity({ realm: 'api', verify: tokenTable({ [env.TOKEN]: 'ci-bot' }) })
 * app.use('/api/*', requireAuth(api))
 * ```
 */
export function bearerIdentity(options: {
  verify: (token: string, c: Context) => string | undefined | Promise<string | undefined>
  realm?: string
}): IdentityPolicy {
  const realm = `realm="${(options.realm ?? '').replace(/["\\]/g, '\\$&')}"`
  return {
    identify(c) {
      const header = c.req.header('authorization')
      if (header === undefined) return undefined
      const match = BEARER.exec(header)
      if (!match?.[1])
        throw new MalformedCredentialsError('expected "Authorization: Bearer <token>"')
      return options.verify(match[1], c)
    },
    challenge(_c, invalid) {
      return invalid ? `Bearer ${realm}, error="invalid_token"` : `Bearer ${realm}`
    },
  }
}

/**
 * A `verify` function for `bearerIdentity` over a fixed table of token → identity. Every
 * entry is compared (in constant time), so the time taken says nothing about the tokens.
 * An entry with an empty token never matches (an unset environment variable).
 */
export function tokenTable(
  tokens: Record<string, string> | ((c: Context) => Record<string, string>)
): (token: string, c: Context) => Promise<string | undefined> {
  return async (token, c) => {
    let found: string | undefined
    for (const [candidate, identity] of Object.entries(
      typeof tokens === 'function' ? tokens(c) : tokens
    )) {
      if ((await timingSafeEqual(candidate, token)) && candidate !== '') found ??= identity
    }
    return found
  }
}

/**
 * An authorization policy over a fixed table of identity → permissions.
 *
 * @example
 * ```ts
 * security({ identity, authorization: permissionTable({ alice: ['notes:delete'] }) })
 * ```
 */
export function permissionTable(table: Record<string, readonly string[]>): AuthorizationPolicy {
  return {
    permits: (identity, permission) =>
      Object.hasOwn(table, identity) && (table[identity]?.includes(permission) ?? false),
  }
}

/** The session() middleware's session, if the route has one. */
function sessionOf(c: Context): Session | undefined {
  return (c as Context<{ Variables: Partial<SessionVariables> }>).get('session')
}
