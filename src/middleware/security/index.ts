import type { Context, MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import {
  type AuthorizationPolicy,
  type IdentityPolicy,
  MalformedCredentialsError,
} from './policies.ts'

export type { AuthorizationPolicy, IdentityPolicy } from './policies.ts'
export {
  bearerIdentity,
  MalformedCredentialsError,
  permissionTable,
  sessionIdentity,
  tokenTable,
} from './policies.ts'

interface SecurityState {
  identity: readonly IdentityPolicy[]
  authorization: AuthorizationPolicy | undefined
  /** The identity of this request, once looked up. */
  resolved?: Promise<string | undefined>
}

/** The context variable security() sets; private to this module. */
type SecurityEnv = { Variables: { security?: SecurityState } }

export interface SecurityOptions {
  /** Where identities come from; the first policy that identifies the user wins. */
  identity: IdentityPolicy | readonly IdentityPolicy[]
  /** What identities may do; without one, `requirePermission` refuses everyone. */
  authorization?: AuthorizationPolicy
}

/**
 * Sets up authentication for the routes below it (aiohttp_security's `setup`): then
 * `identity(c)`, `remember(c, id)`, `forget(c)`, `requireAuth()` and `requirePermission()`.
 *
 * @example
 * ```ts
 * app.use(session({ secrets }))
 * app.use(security({ identity: sessionIdentity(), authorization: permissionTable(roles) }))
 * app.get('/me', requireAuth(), async (c) => c.json({ user: await identity(c) }))
 * ```
 */
export function security(options: SecurityOptions): MiddlewareHandler {
  const identity = Array.isArray(options.identity)
    ? (options.identity as readonly IdentityPolicy[])
    : [options.identity as IdentityPolicy]
  return async function security(c: Context<SecurityEnv>, next) {
    c.set('security', { identity, authorization: options.authorization })
    await next()
  }
}

function state(c: Context): SecurityState {
  const current = (c as Context<SecurityEnv>).get('security')
  if (!current) throw new Error('edgeio auth: add the security() middleware before this route')
  return current
}

async function firstIdentity(
  c: Context,
  policies: readonly IdentityPolicy[]
): Promise<string | undefined> {
  for (const policy of policies) {
    const found = await policy.identify(c)
    if (found !== undefined) return found
  }
  return undefined
}

/** The identity of the request's user, or `undefined`. Looked up once per request. */
export function identity(c: Context): Promise<string | undefined> {
  const current = state(c)
  current.resolved ??= firstIdentity(c, current.identity)
  return current.resolved
}

/** Logs `userId` in with every identity policy that can remember (the session, say). */
export async function remember(c: Context, userId: string): Promise<void> {
  const current = state(c)
  for (const policy of current.identity) await policy.remember?.(c, userId)
  current.resolved = Promise.resolve(userId)
}

/** Logs the user out of every identity policy that can forget. */
export async function forget(c: Context): Promise<void> {
  const current = state(c)
  for (const policy of current.identity) await policy.forget?.(c)
  current.resolved = Promise.resolve(undefined)
}

function unauthorized(c: Context, policies: readonly IdentityPolicy[], invalid: boolean): never {
  const challenges = policies.flatMap((policy) => policy.challenge?.(c, invalid) ?? [])
  const res = Response.json(
    { error: invalid ? 'Unauthorized: invalid credentials' : 'Unauthorized: credentials required' },
    { status: 401 }
  )
  for (const challenge of challenges) res.headers.append('WWW-Authenticate', challenge)
  throw new HTTPException(401, { res })
}

/** Identity per the given policy, or per `security()`; a malformed credential is a 400. */
async function resolve(c: Context, policy: IdentityPolicy | undefined) {
  const policies = policy ? [policy] : state(c).identity
  try {
    return { policies, found: policy ? await policy.identify(c) : await identity(c) }
  } catch (error) {
    if (!(error instanceof MalformedCredentialsError)) throw error
    const res = Response.json({ error: `Bad Request: ${error.message}` }, { status: 400 })
    for (const challenge of policies.flatMap((p) => p.challenge?.(c, false) ?? [])) {
      res.headers.append('WWW-Authenticate', `${challenge}, error="invalid_request"`)
    }
    throw new HTTPException(400, { res })
  }
}

/**
 * Lets only identified users through; the others get `401` with a `WWW-Authenticate`
 * challenge where the policy has one. Pass a policy to guard a group with it alone (an
 * API with bearer tokens), or none to use the ones given to `security()`.
 *
 * @example
 * ```ts
 * app.get('/me', requireAuth(), async (c) => c.json({ user: await identity(c) }))
 * ```
 */
export function requireAuth(policy?: IdentityPolicy): MiddlewareHandler {
  return async function requireAuth(c, next) {
    const { policies, found } = await resolve(c, policy)
    if (found === undefined) {
      unauthorized(c, policies, c.req.header('authorization') !== undefined)
    }
    await next()
  }
}

/**
 * Lets through users the authorization policy permits `permission`: anonymous users get
 * `401` (log in), identified users without the permission `403` (logging in again would
 * not help).
 *
 * @example
 * ```ts
 * app.delete('/notes/:id', requirePermission('notes:delete'), deleteNote)
 * ```
 */
export function requirePermission(permission: string): MiddlewareHandler {
  return async function requirePermission(c, next) {
    const { policies, found } = await resolve(c, undefined)
    if (found === undefined) {
      unauthorized(c, policies, c.req.header('authorization') !== undefined)
    }
    const allowed = await state(c).authorization?.permits(found, permission, c)
    if (!allowed) {
      throw new HTTPException(403, {
        res: Response.json({ error: `Forbidden: requires "${permission}"` }, { status: 403 }),
      })
    }
    await next()
  }
}
