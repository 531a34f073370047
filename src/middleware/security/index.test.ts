import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { session } from '../session/index.ts'
import {
  bearerIdentity,
  forget,
  identity,
  permissionTable,
  remember,
  requireAuth,
  requirePermission,
  security,
  sessionIdentity,
  tokenTable,
} from './index.ts'

const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? ''

function app() {
  const api = bearerIdentity({
    realm: 'api',
    verify: tokenTable({ 'token-1': 'robot', '': 'nobody' }),
  })
  return new Hono()
    .use(session({ secrets: 's'.repeat(32), secure: false }))
    .use(
      security({
        identity: [sessionIdentity(), api],
        authorization: permissionTable({ alice: ['notes:delete'], robot: ['notes:delete'] }),
      })
    )
    .post('/login/:user', async (c) => {
      await remember(c, c.req.param('user'))
      return c.json({ user: await identity(c) })
    })
    .post('/logout', async (c) => {
      await forget(c)
      return c.body(null, 204)
    })
    .get('/me', requireAuth(), async (c) => c.json({ user: await identity(c) }))
    .get('/api', requireAuth(api), async (c) => c.json({ via: 'bearer' }))
    .delete('/notes', requirePermission('notes:delete'), (c) => c.body(null, 204))
}

describe('auth', () => {
  test('anonymous: 401 with the bearer challenge', async () => {
    const res = await app().request('/me')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"')
    expect(await res.json()).toEqual({ error: 'Unauthorized: credentials required' })
  })

  test('log in through the session, use it, log out', async () => {
    const server = app()
    const login = await server.request('/login/alice', { method: 'POST' })
    expect(await login.json()).toEqual({ user: 'alice' })
    const cookie = cookieOf(login)
    expect(await (await server.request('/me', { headers: { cookie } })).json()).toEqual({
      user: 'alice',
    })
    const logout = await server.request('/logout', { method: 'POST', headers: { cookie } })
    expect(logout.headers.get('set-cookie')).toMatch(/Max-Age=0/)
    expect((await server.request('/me', { headers: { cookie: cookieOf(logout) } })).status).toBe(
      401
    )
  })

  test('logging in regenerates the session (a planted cookie does not carry over)', async () => {
    const server = app()
    const planted = await server.request('/login/mallory', { method: 'POST' })
    const login = await server.request('/login/alice', {
      method: 'POST',
      headers: { cookie: cookieOf(planted) },
    })
    expect(cookieOf(login)).not.toBe(cookieOf(planted))
  })

  test('bearer tokens: right, wrong, malformed, and an empty configured token never matches', async () => {
    const server = app()
    const ok = await server.request('/api', { headers: { authorization: 'Bearer token-1' } })
    expect(await ok.json()).toEqual({ via: 'bearer' })
    const wrong = await server.request('/api', { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"')
    const malformed = await server.request('/api', { headers: { authorization: 'Basic abc' } })
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('www-authenticate')).toBe(
      'Bearer realm="api", error="invalid_request"'
    )
    const empty = await server.request('/api', { headers: { authorization: 'Bearer ' } })
    expect(empty.status).toBe(400)
  })

  test('a session user cannot reach a bearer-only group', async () => {
    const server = app()
    const cookie = cookieOf(await server.request('/login/alice', { method: 'POST' }))
    expect((await server.request('/api', { headers: { cookie } })).status).toBe(401)
  })

  test('permissions: 401 anonymous, 403 identified without it, through with it', async () => {
    const server = app()
    expect((await server.request('/notes', { method: 'DELETE' })).status).toBe(401)
    const bob = cookieOf(await server.request('/login/bob', { method: 'POST' }))
    const forbidden = await server.request('/notes', { method: 'DELETE', headers: { cookie: bob } })
    expect(forbidden.status).toBe(403)
    expect(await forbidden.json()).toEqual({ error: 'Forbidden: requires "notes:delete"' })
    const alice = cookieOf(await server.request('/login/alice', { method: 'POST' }))
    expect(
      (await server.request('/notes', { method: 'DELETE', headers: { cookie: alice } })).status
    ).toBe(204)
    const robot = { authorization: 'Bearer token-1' }
    expect((await server.request('/notes', { method: 'DELETE', headers: robot })).status).toBe(204)
  })

  test('using the helpers without security() is a clear error', async () => {
    const bare = new Hono().get('/', requireAuth(), (c) => c.text('x'))
    let message = ''
    bare.onError((error, c) => {
      message = error.message
      return c.text('', 500)
    })
    await bare.request('/')
    expect(message).toMatch(/add the security\(\) middleware/)
  })
})
