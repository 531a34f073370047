import fc from 'fast-check'
import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { quotaLifetimeMs } from '../../quota/index.ts'
import { MemoryStore, type RateLimitRule, rateLimit } from './index.ts'

function clock(start = 1_000_000) {
  let now = start
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
}

const window = (limit: number, windowMs: number): RateLimitRule => ({
  algorithm: 'sliding-window',
  limit,
  windowMs,
})
const bucket = (capacity: number, refillPerSecond: number): RateLimitRule => ({
  algorithm: 'token-bucket',
  capacity,
  refillPerSecond,
})

describe('MemoryStore, sliding window', () => {
  test('allows `limit` requests per window, then refuses with the time until one passes', () => {
    const time = clock()
    const store = new MemoryStore({ now: time.now })
    const results = Array.from({ length: 4 }, () => store.consume('a', window(3, 1000)))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0])
    expect(results[3]?.resetMs).toBe(1000)
    // Next window: the previous 3 still weigh 3·(1 − e/1000); one more fits once that ≤ 2.
    expect(results[3]?.retryAfterMs).toBe(1000 + 334)
    time.advance(1000 + 334)
    expect(store.consume('a', window(3, 1000)).allowed).toBe(true)
  })

  test('the previous window weighs in proportion to its overlap: no burst at the edge', () => {
    const time = clock()
    const store = new MemoryStore({ now: time.now })
    for (let i = 0; i < 10; i++) store.consume('a', window(10, 1000))
    time.advance(1000) // new window begins: the previous 10 still count fully
    expect(store.consume('a', window(10, 1000)).allowed).toBe(false)
    time.advance(500) // half of them have slid out
    const results = Array.from({ length: 6 }, () => store.consume('a', window(10, 1000)))
    expect(results.filter((r) => r.allowed)).toHaveLength(5)
  })

  test('keys are independent; past maxKeys a new key is refused while every key is live', () => {
    const time = clock()
    const warnings: string[] = []
    const store = new MemoryStore({ maxKeys: 2, now: time.now, warn: (m) => warnings.push(m) })
    expect(store.consume('a', window(1, 1000)).allowed).toBe(true)
    expect(store.consume('b', window(1, 1000)).allowed).toBe(true)
    expect(store.consume('a', window(1, 1000)).allowed).toBe(false)
    // Full of live keys: c is refused (fail closed), nobody is evicted, a stays limited.
    const refused = store.consume('c', window(1, 1000))
    expect(refused).toMatchObject({ allowed: false, limit: 1, remaining: 0 })
    // a's window began at 1,000,000: its one request weighs until two windows later.
    expect(refused.retryAfterMs).toBe(2000)
    expect(store.consume('a', window(1, 1000)).allowed).toBe(false)
    expect(store.size).toBe(2)
    expect(store.refusedNewKeys).toBe(1)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/maxKeys = 2/)
    store.consume('d', window(1, 1000))
    expect(warnings).toHaveLength(1) // once per store
    // Once a's and b's counts have slid out entirely, they are spent: reclaimed, c fits.
    time.advance(1999)
    expect(store.consume('c', window(1, 1000)).allowed).toBe(false)
    time.advance(1)
    expect(store.consume('c', window(1, 1000)).allowed).toBe(true)
    expect(store.size).toBe(1)
  })

  test('spent keys are reclaimed as new ones come, so memory follows the live keys', () => {
    const time = clock()
    const store = new MemoryStore({ maxKeys: 100, now: time.now })
    for (let i = 0; i < 1000; i++) {
      expect(store.consume(`k${i}`, bucket(2, 1)).allowed).toBe(true)
      time.advance(100) // a bucket of 2 at 1/s is full again 1 s after its last request
    }
    expect(store.size).toBeLessThanOrEqual(11)
    expect(store.refusedNewKeys).toBe(0)
  })

  test('regression (issue 12): 20,000 requests under fresh keys do not give a limited key its quota back', () => {
    const time = clock()
    const store = new MemoryStore({ maxKeys: 10_000, now: time.now, warn: () => {} })
    const rule = window(3, 60_000)
    for (let i = 0; i < 3; i++) expect(store.consume('victim', rule).allowed).toBe(true)
    expect(store.consume('victim', rule).allowed).toBe(false)
    let allowed = 0
    for (let i = 0; i < 20_000; i++) {
      time.advance(1)
      if (store.consume(`fresh-${i}`, rule).allowed) allowed++
    }
    // 9,999 fresh keys fit beside the victim; the other 10,001 are refused, not the victim reset.
    expect(allowed).toBe(9_999)
    expect(store.size).toBe(10_000)
    expect(store.consume('victim', rule).allowed).toBe(false)
    // Once the victim's window has slid out, its quota is whole again, as without the flood.
    time.advance(120_000)
    expect(store.consume('victim', rule).allowed).toBe(true)
  })

  test('the rules sharing one store count apart', () => {
    const store = new MemoryStore({ now: clock().now })
    expect(store.consume('k', window(1, 1000)).allowed).toBe(true)
    expect(store.consume('k', window(1, 1000)).allowed).toBe(false)
    expect(store.consume('k', window(2, 1000)).allowed).toBe(true)
    expect(store.consume('k', bucket(1, 1)).allowed).toBe(true)
    expect(store.size).toBe(3)
  })

  test('property (model): pressure from other keys never gives a live key its quota back, and memory stays ≤ maxKeys', () => {
    const rules = fc.constantFrom(window(2, 1000), window(3, 500), bucket(2, 1), bucket(3, 4))
    const step = fc.record({
      gap: fc.integer({ min: 0, max: 700 }),
      // a few recurring keys (the victims), and many that are only ever seen once or twice
      key: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 4, max: 400 })),
      rule: fc.nat({ max: 1 }),
    })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.tuple(rules, rules),
        fc.array(step, { minLength: 1, maxLength: 300 }),
        (maxKeys, pair, steps) => {
          const time = clock()
          const bounded = new MemoryStore({ maxKeys, now: time.now, warn: () => {} })
          // The reference holds every key for ever: no pressure at all.
          const reference = new MemoryStore({ maxKeys: Number.MAX_SAFE_INTEGER, now: time.now })
          const lastAllowed = new Map<string, number>()
          for (const { gap, key, rule: which } of steps) {
            time.advance(gap)
            const rule = pair[which] as RateLimitRule
            const id = `${which}:${key}`
            const sizeBefore = bounded.size
            const refusedBefore = bounded.refusedNewKeys
            const got = bounded.consume(String(key), rule)
            expect(bounded.size).toBeLessThanOrEqual(maxKeys)
            if (bounded.refusedNewKeys > refusedBefore) {
              // Refused for want of room: the table held maxKeys keys, each of which took
              // quota within its rule's lifetime (none was evicted to make room)…
              expect(sizeBefore).toBe(maxKeys)
              const live = [...lastAllowed].filter(([k, at]) => {
                const r = pair[Number(k.split(':')[0])] as RateLimitRule
                return time.now() - at < quotaLifetimeMs(r)
              })
              expect(live.length).toBeGreaterThanOrEqual(maxKeys)
              expect(got.allowed).toBe(false)
              expect(got.retryAfterMs).toBeGreaterThan(0)
              continue
            }
            // …and otherwise every key counts exactly as it would with no other key about.
            const want = reference.consume(String(key), rule)
            expect(got).toEqual(want)
            if (got.allowed) lastAllowed.set(id, time.now())
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  test("property: none of the store's windows admits more than `limit`; a refusal says when to retry", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (limit, gaps) => {
          const time = clock()
          const store = new MemoryStore({ now: time.now })
          const perWindow = new Map<number, number>()
          // The store's windows start at a key's first request, not at a round number.
          let first: number | undefined
          for (const gap of gaps) {
            time.advance(gap)
            first ??= time.now()
            const result = store.consume('k', window(limit, 1000))
            const fixed = Math.floor((time.now() - first) / 1000)
            if (result.allowed) perWindow.set(fixed, (perWindow.get(fixed) ?? 0) + 1)
            else expect(result.retryAfterMs).toBeGreaterThan(0)
          }
          for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(limit)
        }
      )
    )
  })
})

describe('MemoryStore, token bucket', () => {
  test('a full bucket allows a burst, then refills at the given rate', () => {
    const time = clock()
    const store = new MemoryStore({ now: time.now })
    const burst = Array.from({ length: 4 }, () => store.consume('a', bucket(3, 2)))
    expect(burst.map((r) => r.allowed)).toEqual([true, true, true, false])
    expect(burst[3]).toMatchObject({ remaining: 0, retryAfterMs: 500, resetMs: 1500 })
    time.advance(499)
    expect(store.consume('a', bucket(3, 2)).allowed).toBe(false)
    time.advance(1)
    expect(store.consume('a', bucket(3, 2)).allowed).toBe(true)
  })

  test('property: allowed requests never exceed capacity + refilled tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
        (capacity, rate, gaps) => {
          const time = clock()
          const store = new MemoryStore({ now: time.now })
          let allowed = 0
          let elapsed = 0
          for (const gap of gaps) {
            time.advance(gap)
            elapsed += gap
            if (store.consume('k', bucket(capacity, rate)).allowed) allowed++
          }
          expect(allowed).toBeLessThanOrEqual(capacity + Math.floor((elapsed / 1000) * rate))
        }
      )
    )
  })
})

describe('MemoryStore, either algorithm', () => {
  test('property: a refusal names the exact moment a request passes again', () => {
    const rules = fc.oneof(
      fc
        .record({ limit: fc.integer({ min: 1, max: 10 }), ms: fc.integer({ min: 1, max: 5000 }) })
        .map(({ limit, ms }) => window(limit, ms)),
      fc
        .record({
          capacity: fc.integer({ min: 1, max: 10 }),
          rate: fc.double({ min: 0.01, max: 50, noNaN: true }),
        })
        .map(({ capacity, rate }) => bucket(capacity, rate))
    )
    fc.assert(
      fc.property(
        rules,
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 100 }),
        (rule, gaps) => {
          const time = clock()
          const store = new MemoryStore({ now: time.now })
          for (const gap of gaps) {
            time.advance(gap)
            const result = store.consume('k', rule)
            if (result.allowed) continue
            // A refused request takes nothing, so probing one millisecond early is harmless.
            time.advance(result.retryAfterMs - 1)
            expect(store.consume('k', rule).allowed).toBe(false)
            time.advance(1)
            expect(store.consume('k', rule).allowed).toBe(true)
          }
        }
      ),
      // Rounding slips are rare (a rate such as 0.010000000000000007): look harder than usual.
      { numRuns: 2_000 }
    )
  })
})

describe('rateLimit middleware', () => {
  function app(options: Parameters<typeof rateLimit>[0]) {
    return new Hono().use(rateLimit(options)).get('/', (c) => c.text('ok'))
  }

  test('adds the RateLimit headers, refuses with 429 and Retry-After', async () => {
    const limited = app({ limit: 2, windowMs: 60_000, key: () => 'me' })
    const responses = []
    for (let i = 0; i < 3; i++) responses.push(await limited.request('/'))
    expect(responses.map((r) => r.status)).toEqual([200, 200, 429])
    expect(responses[0]?.headers.get('ratelimit-limit')).toBe('2')
    expect(responses[0]?.headers.get('ratelimit-remaining')).toBe('1')
    expect(responses[0]?.headers.get('ratelimit-reset')).toBe('60')
    expect(responses[2]?.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(responses[2]?.headers.get('ratelimit-remaining')).toBe('0')
    expect(await responses[2]?.json()).toEqual({ error: 'Too Many Requests' })
  })

  /**
   * Checks a 429 against the clock behind it: RateLimit-Reset names the same wait as
   * Retry-After, a second before it the client is still refused, and at it the request
   * passes. Returns the wait, in seconds.
   */
  async function retryAfterHolds(
    limited: Hono,
    refused: Response,
    time: ReturnType<typeof clock>
  ): Promise<number> {
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter))
    expect(refused.headers.get('ratelimit-remaining')).toBe('0')
    time.advance((retryAfter - 1) * 1000)
    const early = await limited.request('/')
    expect(early.status).toBe(429)
    expect(early.headers.get('retry-after')).toBe('1')
    expect(early.headers.get('ratelimit-reset')).toBe('1')
    time.advance(1000)
    expect((await limited.request('/')).status).toBe(200)
    return retryAfter
  }

  test('sliding window: a 429 says one wait in Retry-After and RateLimit-Reset, and it holds', async () => {
    const time = clock()
    const limited = app({
      limit: 3,
      windowMs: 60_000,
      key: () => 'me',
      store: new MemoryStore({ now: time.now }),
    })
    const allowed = [await limited.request('/'), await limited.request('/')]
    allowed.push(await limited.request('/'))
    expect(allowed.map((r) => r.headers.get('ratelimit-reset'))).toEqual(['60', '60', '60'])
    // The window's quota comes back in 60 s, but the 3 requests of the window just ended
    // still weigh 3·(1 − e/60 s) then: a 4th fits once that is ≤ 2, 20 s into it.
    expect(await retryAfterHolds(limited, await limited.request('/'), time)).toBe(80)
  })

  test('token bucket: a 429 says one wait in Retry-After and RateLimit-Reset, and it holds', async () => {
    const time = clock()
    const limited = app({
      tokens: 5,
      refillPerSecond: 0.1,
      key: () => 'me',
      store: new MemoryStore({ now: time.now }),
    })
    for (let i = 0; i < 5; i++) expect((await limited.request('/')).status).toBe(200)
    // The bucket is full again in 50 s, but one token, enough for a request, takes 10 s.
    expect(await retryAfterHolds(limited, await limited.request('/'), time)).toBe(10)
  })

  test('a store function picks the store per request (a binding from c.env, say)', async () => {
    const stores = { a: new MemoryStore(), b: new MemoryStore() }
    const perTenant = app({
      limit: 1,
      windowMs: 60_000,
      key: () => 'same-client',
      store: (c) => (c.req.header('x-tenant') === 'b' ? stores.b : stores.a),
    })
    expect((await perTenant.request('/')).status).toBe(200)
    expect((await perTenant.request('/')).status).toBe(429)
    // The same key in the other store has its own quota.
    expect((await perTenant.request('/', { headers: { 'x-tenant': 'b' } })).status).toBe(200)
    expect([stores.a.size, stores.b.size]).toEqual([1, 1])
  })

  test('limits each key separately; without an address every client shares `unknown`', async () => {
    const byHeader = app({ tokens: 1, refillPerSecond: 0.001, key: (c) => c.req.header('x-id') })
    expect((await byHeader.request('/', { headers: { 'x-id': 'a' } })).status).toBe(200)
    expect((await byHeader.request('/', { headers: { 'x-id': 'b' } })).status).toBe(200)
    expect((await byHeader.request('/', { headers: { 'x-id': 'a' } })).status).toBe(429)
    expect((await byHeader.request('/')).status).toBe(200)
    expect((await byHeader.request('/')).status).toBe(429)
  })

  test('trusts X-Forwarded-For only when told how many proxies stand in front', async () => {
    const store = new MemoryStore()
    const seen: string[] = []
    const spy = {
      consume: (key: string, rule: RateLimitRule) => {
        seen.push(key)
        return store.consume(key, rule)
      },
    }
    const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' }
    await app({ limit: 5, windowMs: 1000, store: spy }).request('/', { headers })
    await app({ limit: 5, windowMs: 1000, store: spy, trustProxy: 1 }).request('/', { headers })
    await app({ limit: 5, windowMs: 1000, store: spy, trustProxy: true }).request('/', { headers })
    expect(seen).toEqual(['unknown', '203.0.113.9', '6.6.6.6'])
  })

  test('a store full of live keys refuses a new client with 429, Retry-After and RateLimit headers', async () => {
    const time = clock()
    const store = new MemoryStore({ maxKeys: 1, now: time.now, warn: () => {} })
    const limited = app({ limit: 5, windowMs: 10_000, key: (c) => c.req.header('x-id'), store })
    expect((await limited.request('/', { headers: { 'x-id': 'a' } })).status).toBe(200)
    time.advance(3000)
    const refused = await limited.request('/', { headers: { 'x-id': 'b' } })
    expect(refused.status).toBe(429)
    // a's one request weighs until two windows after its start: 17 s from now.
    expect(refused.headers.get('retry-after')).toBe('17')
    expect(refused.headers.get('ratelimit-reset')).toBe('17')
    expect(refused.headers.get('ratelimit-limit')).toBe('5')
    expect(refused.headers.get('ratelimit-remaining')).toBe('0')
    time.advance(17_000)
    expect((await limited.request('/', { headers: { 'x-id': 'b' } })).status).toBe(200)
  })

  test('bad options fail at once', () => {
    expect(() => rateLimit({ limit: 0, windowMs: 1000 })).toThrow(RangeError)
    expect(() => rateLimit({ tokens: 1, refillPerSecond: 0 })).toThrow(RangeError)
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(RangeError)
  })
})
