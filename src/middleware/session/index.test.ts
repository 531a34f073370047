import fc from 'fast-check'
import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import {
  KVRevocationStore,
  MemoryRevocationStore,
  MemorySessionStore,
  type SessionOptions,
  session,
} from './index.ts'
import { seal, unseal } from './seal.ts'

const SECRET = 'a'.repeat(32)
const OLD_SECRET = 'b'.repeat(32)

/** An app counting visits in the session, plus routes to regenerate and destroy it. */
function counter(options: Partial<SessionOptions> = {}) {
  return new Hono()
    .use(session({ secrets: SECRET, secure: false, ...options }))
    .get('/visit', (c) => {
      const visits = (c.get('session').get<number>('visits') ?? 0) + 1
      c.get('session').set('visits', visits)
      return c.json({ visits, isNew: c.get('session').isNew })
    })
    .get('/peek', (c) => c.json(c.get('session').toJSON()))
    .get('/regenerate', (c) => {
      c.get('session').regenerate()
      return c.body(null, 204)
    })
    .get('/destroy', (c) => {
      c.get('session').destroy()
      return c.body(null, 204)
    })
    .get('/big', (c) => {
      c.get('session').set('blob', 'x'.repeat(5000))
      return c.text('never sent')
    })
}

/** The `name=value` part of the response's session cookie, to send back. */
const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? ''

describe('sealing', () => {
  test('round-trips, and opens with any of the secrets (rotation)', async () => {
    const sealed = await seal({ a: 1 }, OLD_SECRET, 'ctx')
    expect(await unseal(sealed, [SECRET, OLD_SECRET], 'ctx')).toEqual({ a: 1 })
    expect(await unseal(sealed, [SECRET], 'ctx')).toBeUndefined()
  })

  test('a value sealed for another context (cookie name) does not open', async () => {
    expect(await unseal(await seal({ a: 1 }, SECRET, 'one'), [SECRET], 'two')).toBeUndefined()
  })

  test('tampered, truncated and garbage input yields undefined, never an exception', async () => {
    const sealed = await seal({ admin: false }, SECRET, 'ctx')
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1)
    for (const bad of [flipped, sealed.slice(0, 20), 'v1.!!!', 'v2.abc', '', 'v1.', 'v1.===']) {
      expect(await unseal(bad, [SECRET], 'ctx')).toBeUndefined()
    }
  })
})

describe('session middleware', () => {
  test('keeps data across requests in a sealed, HttpOnly, SameSite=Lax cookie', async () => {
    const app = counter({ secure: true })
    const first = await app.request('/visit')
    expect(await first.json()).toEqual({ visits: 1, isNew: true })
    const setCookie = first.headers.get('set-cookie') ?? ''
    expect(setCookie).toMatch(/^edgeio\.session=v1\./)
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/Secure/)
    expect(setCookie).toMatch(/SameSite=Lax/)
    expect(setCookie).not.toMatch(/visits/) // sealed, not readable
    const second = await app.request('/visit', { headers: { cookie: cookieOf(first) } })
    expect(await second.json()).toEqual({ visits: 2, isNew: false })
  })

  test('an unchanged session sets no cookie', async () => {
    const app = counter()
    const first = await app.request('/visit')
    const peek = await app.request('/peek', { headers: { cookie: cookieOf(first) } })
    expect(await peek.json()).toEqual({ visits: 1 })
    expect(peek.headers.get('set-cookie')).toBeNull()
  })

  test('a tampered, foreign or expired cookie yields an empty session', async () => {
    const app = counter({ maxAge: 1 })
    const first = await app.request('/visit')
    const tampered = `${cookieOf(first).slice(0, -3)}abc`
    const sealed = { id: 'x', iat: Date.now(), data: { visits: 99 } }
    const foreign = `edgeio.session=${await seal({ ...sealed, exp: Date.now() + 1e6 }, 'c'.repeat(32), 'edgeio.session')}`
    const expired = `edgeio.session=${await seal({ ...sealed, exp: Date.now() - 1 }, SECRET, 'edgeio.session')}`
    // Sealed by us, but with no id to revoke it by (the format before revocation): refused.
    const unrevocable = `edgeio.session=${await seal({ exp: Date.now() + 1e6, data: { visits: 99 } }, SECRET, 'edgeio.session')}`
    for (const cookie of [tampered, foreign, expired, unrevocable, 'edgeio.session=garbage']) {
      const res = await app.request('/visit', { headers: { cookie } })
      expect(await res.json()).toEqual({ visits: 1, isNew: true })
    }
  })

  test('cookies sealed with an older secret still open after rotation', async () => {
    const before = await counter({ secrets: OLD_SECRET }).request('/visit')
    const rotated = counter({ secrets: [SECRET, OLD_SECRET] })
    const after = await rotated.request('/visit', { headers: { cookie: cookieOf(before) } })
    expect(await after.json()).toEqual({ visits: 2, isNew: false })
    // …and the new cookie is sealed with the new secret.
    const next = await counter({ secrets: SECRET }).request('/visit', {
      headers: { cookie: cookieOf(after) },
    })
    expect(await next.json()).toEqual({ visits: 3, isNew: false })
  })

  test('destroy removes the cookie', async () => {
    const app = counter()
    const first = await app.request('/visit')
    const res = await app.request('/destroy', { headers: { cookie: cookieOf(first) } })
    expect(res.headers.get('set-cookie')).toMatch(/^edgeio\.session=; Max-Age=0/)
  })

  test('a session too large for a cookie is a clear error, not a cookie the browser drops', async () => {
    const app = counter()
    let caught: unknown
    app.onError((error, c) => {
      caught = error
      return c.text('error', 500)
    })
    const res = await app.request('/big')
    expect(res.status).toBe(500)
    expect((caught as Error).name).toBe('SessionTooLargeError')
    expect((caught as Error).message).toMatch(/browsers keep at most 4096/)
  })

  test('short secrets are refused', () => {
    expect(() => session({ secrets: 'short' })).toThrow(RangeError)
    expect(() => session({ secrets: [] })).toThrow(RangeError)
  })
})

describe('session revocation (cookie sessions)', () => {
  test('destroy revokes every copy of the cookie, not only the one sent back', async () => {
    const app = counter()
    const first = await app.request('/visit')
    const copy = cookieOf(first) // what a thief would have kept
    const second = await app.request('/visit', { headers: { cookie: copy } })
    expect(await second.json()).toEqual({ visits: 2, isNew: false })
    await app.request('/destroy', { headers: { cookie: cookieOf(second) } })
    for (const cookie of [copy, cookieOf(second)]) {
      const replay = await app.request('/peek', { headers: { cookie } })
      expect(await replay.json()).toEqual({})
    }
    // A copy saved after the browser's (a later Max-Age) is revoked as well.
    const again = await app.request('/visit')
    const later = await app.request('/visit', { headers: { cookie: cookieOf(again) } })
    await app.request('/destroy', { headers: { cookie: cookieOf(again) } })
    expect(
      await (await app.request('/peek', { headers: { cookie: cookieOf(later) } })).json()
    ).toEqual({})
  })

  test('regenerate (log-in) revokes the old id: the cookie from before no longer opens', async () => {
    const revocations = new MemoryRevocationStore()
    const app = counter({ revocations })
    const before = await app.request('/visit')
    const after = await app.request('/regenerate', { headers: { cookie: cookieOf(before) } })
    expect(revocations.size).toBe(1)
    expect(
      await (await app.request('/peek', { headers: { cookie: cookieOf(before) } })).json()
    ).toEqual({})
    expect(
      await (await app.request('/peek', { headers: { cookie: cookieOf(after) } })).json()
    ).toEqual({ visits: 1 })
  })

  test('data set after destroy starts a new session under a new id', async () => {
    const app = new Hono()
      .use(session({ secrets: SECRET, secure: false }))
      .get('/visit', (c) => {
        c.get('session').set('n', 1)
        return c.body(null, 204)
      })
      .get('/switch', (c) => {
        c.get('session').destroy()
        c.get('session').set('n', 2)
        return c.body(null, 204)
      })
      .get('/n', (c) => c.json(c.get('session').get('n') ?? null))
    const first = await app.request('/visit')
    const switched = await app.request('/switch', { headers: { cookie: cookieOf(first) } })
    expect(
      await (await app.request('/n', { headers: { cookie: cookieOf(first) } })).json()
    ).toBeNull()
    expect(
      await (await app.request('/n', { headers: { cookie: cookieOf(switched) } })).json()
    ).toBe(2)
  })

  test('revocations: false keeps the old behaviour (a copy works until it expires)', async () => {
    const app = counter({ revocations: false })
    const first = await app.request('/visit')
    await app.request('/destroy', { headers: { cookie: cookieOf(first) } })
    expect(
      await (await app.request('/peek', { headers: { cookie: cookieOf(first) } })).json()
    ).toEqual({ visits: 1 })
  })

  test('a shared store (a function, per request) is consulted and written', async () => {
    const kv = new Map<string, string>()
    const store = new KVRevocationStore({
      get: async (key) => (kv.has(key) ? JSON.parse(kv.get(key) as string) : null),
      put: async (key, value) => void kv.set(key, value),
      delete: async (key) => void kv.delete(key),
    })
    const app = counter({ revocations: () => store })
    const first = await app.request('/visit')
    await app.request('/destroy', { headers: { cookie: cookieOf(first) } })
    expect([...kv.keys()]).toEqual([expect.stringMatching(/^revoked-session:[\w-]{22}$/)])
    expect(
      await (await app.request('/peek', { headers: { cookie: cookieOf(first) } })).json()
    ).toEqual({})
  })

  test('the memory store stays bounded and never lets a revoked id back in', () => {
    let now = 1_000
    const warnings: string[] = []
    const store = new MemoryRevocationStore({
      maxEntries: 4,
      now: () => now,
      warn: (m) => warnings.push(m),
    })
    const day = 86_400_000
    store.revoke('short-1', 50, now + 1)
    store.revoke('short-2', 51, now + 1)
    store.revoke('s0', 100, now + day)
    store.revoke('s1', 101, now + day)
    expect(store.size).toBe(4)
    // Full: the expired revocations go first, and that frees half: no cut-off.
    now += 2
    store.revoke('s2', 102, now + day)
    expect(store.cutOff).toBe(Number.NEGATIVE_INFINITY)
    expect(store.size).toBe(3)
    store.revoke('s3', 103, now + day)
    expect(warnings).toEqual([])
    // Full of live revocations: the oldest half folds into a cut-off at their latest iat.
    store.revoke('s4', 500, now + day)
    expect(store.cutOff).toBe(101)
    expect(store.size).toBe(3)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/4 revocations held/)
    for (const [id, iat] of [
      ['s0', 100],
      ['s1', 101],
      ['s2', 102],
      ['s3', 103],
      ['s4', 500],
    ] as const) {
      expect(store.isRevoked(id, iat)).toBe(true)
    }
    expect(store.isRevoked('never-revoked', 101)).toBe(true) // collateral: issued before the cut-off
    expect(store.isRevoked('never-revoked', 102)).toBe(false)
  })
  test('property: whatever fills the memory store, a revoked id stays revoked and memory ≤ maxEntries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 50 }),
            age: fc.integer({ min: 0, max: 200 }),
            life: fc.integer({ min: 1, max: 300 }),
          }),
          { maxLength: 200 }
        ),
        (maxEntries, ops) => {
          let now = 10_000
          const store = new MemoryRevocationStore({ maxEntries, now: () => now, warn: () => {} })
          const revoked: { id: string; iat: number; until: number }[] = []
          ops.forEach(({ gap, age, life }, i) => {
            now += gap
            const entry = { id: `s${i}`, iat: now - age, until: now + life }
            store.revoke(entry.id, entry.iat, entry.until)
            revoked.push(entry)
            expect(store.size).toBeLessThanOrEqual(maxEntries)
            for (const r of revoked)
              if (r.until > now) expect(store.isRevoked(r.id, r.iat)).toBe(true)
          })
        }
      )
    )
  })
})

describe('session middleware with a server-side store', () => {
  test('the cookie holds only a sealed id; the data lives in the store', async () => {
    const store = new MemorySessionStore()
    const app = counter({ store })
    const first = await app.request('/visit')
    expect(store.size).toBe(1)
    const second = await app.request('/visit', { headers: { cookie: cookieOf(first) } })
    expect(await second.json()).toEqual({ visits: 2, isNew: false })
    expect(store.size).toBe(1)
  })

  test('regenerate moves the data to a new id and drops the old one (no fixation)', async () => {
    const store = new MemorySessionStore()
    const app = counter({ store })
    const first = await app.request('/visit')
    const regenerated = await app.request('/regenerate', { headers: { cookie: cookieOf(first) } })
    expect(cookieOf(regenerated)).not.toBe(cookieOf(first))
    expect(store.size).toBe(1)
    const old = await app.request('/peek', { headers: { cookie: cookieOf(first) } })
    expect(await old.json()).toEqual({})
    const fresh = await app.request('/peek', { headers: { cookie: cookieOf(regenerated) } })
    expect(await fresh.json()).toEqual({ visits: 1 })
  })

  test('destroy deletes the stored session', async () => {
    const store = new MemorySessionStore()
    const app = counter({ store })
    const first = await app.request('/visit')
    await app.request('/destroy', { headers: { cookie: cookieOf(first) } })
    expect(store.size).toBe(0)
  })

  test('the memory store expires sessions and stays bounded', async () => {
    let now = 0
    const store = new MemorySessionStore({ maxSessions: 2, now: () => now })
    await store.set('a', { n: 1 }, 10)
    await store.set('b', { n: 2 }, 10)
    await store.set('c', { n: 3 }, 10)
    expect(await store.get('a')).toBeUndefined()
    expect(await store.get('b')).toEqual({ n: 2 })
    now = 10_000
    expect(await store.get('b')).toBeUndefined()
  })
})
