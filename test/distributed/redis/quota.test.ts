import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { consumeQuota } from '../../../src/distributed/redis/quota.ts'
import { rateLimit } from '../../../src/middleware/rate-limit/index.ts'
import {
  applyRule,
  type BucketEntry,
  type QuotaEntry,
  type RateLimitResult,
  type RateLimitRule,
  type WindowEntry,
} from '../../../src/quota/index.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'

let redis: RedisServer
let client: Redis

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis(redis.url)
})
afterAll(async () => {
  client?.disconnect()
  await redis?.stop()
})

/** Far ahead of Redis's clock, so that keys written at test times never expire mid-run. */
const FUTURE = Date.now() + 10 * 365 * 24 * 3600 * 1000

let unique = 0
const freshKey = (name: string) => `{quota-test}:${name}:${++unique}`

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

/** Where the coordinator (src/distributed/coordinator.ts) would expire the entry. */
const expiresAt = (rule: RateLimitRule, now: number, result: RateLimitResult) =>
  now + result.resetMs + (rule.algorithm === 'sliding-window' ? rule.windowMs : 0)

/** Whether a request moved the key's expiry: a new window, or a token taken. */
function expiryMoved(rule: RateLimitRule, before: QuotaEntry | undefined, after: QuotaEntry) {
  if (before === undefined) return true
  if (rule.algorithm === 'sliding-window') {
    return (before as WindowEntry).start !== (after as WindowEntry).start
  }
  return JSON.stringify(before) !== JSON.stringify(after)
}

/** Resolves once `condition()` holds, polling every few ms; rejects after `withinMs`. */
async function eventually(condition: () => Promise<boolean>, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`not within ${withinMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('consumeQuota counts exactly as applyRule', () => {
  const rules = fc.oneof(
    fc
      .record({
        limit: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(1.5, 2.5)),
        windowMs: fc.oneof(
          fc.integer({ min: 1, max: 60 }),
          fc.constantFrom(1000, 60_000),
          // Fractional windows give fractional starts and resets: the reply must keep them
          // (a long one needs all 17 digits of its reset).
          fc.double({ min: 0.5, max: 50, noNaN: true }),
          fc.double({ min: 1000, max: 100_000, noNaN: true })
        ),
      })
      .map(({ limit, windowMs }) => window(limit, windowMs)),
    fc
      .record({
        capacity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(1.5, 3.25)),
        refillPerSecond: fc.oneof(
          fc.integer({ min: 1, max: 20 }),
          fc.constantFrom(0.1, 1 / 3, 0.7, 2.5),
          fc.double({ min: 0.01, max: 50, noNaN: true })
        ),
      })
      .map(({ capacity, refillPerSecond }) => bucket(capacity, refillPerSecond))
  )
  // How far the clock moves before a request: nothing, a few ms, whole windows (or the time
  // one token takes), or exactly the wait the key's last result named.
  const advance = fc.oneof(
    fc.constant({ by: 'ms' as const, n: 0 }),
    fc.record({ by: fc.constant('ms' as const), n: fc.integer({ min: 0, max: 120 }) }),
    fc.record({ by: fc.constant('period' as const), n: fc.integer({ min: 1, max: 3 }) }),
    fc.record({
      by: fc.constantFrom('retry' as const, 'retry-1' as const, 'reset' as const),
      n: fc.constant(0),
    })
  )
  const steps = fc.array(fc.record({ key: fc.nat({ max: 2 }), advance }), {
    minLength: 1,
    maxLength: 40,
  })

  test('property: same result at every step, for random rules, keys and times; the key expires where the coordinator would drop it', async () => {
    await fc.assert(
      fc.asyncProperty(rules, steps, fc.integer({ min: 0, max: 1e6 }), async (rule, run, t0) => {
        const keys = [freshKey('p'), freshKey('p'), freshKey('p')]
        const model = new Map<string, QuotaEntry>()
        const last = new Map<string, RateLimitResult>()
        const expiry = new Map<string, number>()
        const period =
          rule.algorithm === 'sliding-window' ? rule.windowMs : 1000 / rule.refillPerSecond
        let now = FUTURE + t0
        for (const { key: which, advance } of run) {
          const key = keys[which] as string
          const previous = last.get(key)
          if (advance.by === 'ms') now += advance.n
          else if (advance.by === 'period') now += Math.round(advance.n * period)
          else if (previous) {
            if (advance.by === 'reset') now += previous.resetMs
            else now += Math.max(0, previous.retryAfterMs - (advance.by === 'retry-1' ? 1 : 0))
          }
          const before = structuredClone(model.get(key))
          const want = applyRule(model.get(key), rule, now)
          model.set(key, want.entry)
          const got = await consumeQuota(client, key, rule, now)
          expect(got).toEqual(want.result)
          last.set(key, got)
          // Where the coordinator puts it, as of the last request that moved it: one that
          // started a window, or took a token (the expiry is the same sum in between).
          if (expiryMoved(rule, before, want.entry)) {
            expiry.set(key, Math.ceil(expiresAt(rule, now, got)))
          }
          expect(await client.pexpiretime(key)).toBe(expiry.get(key))
        }
      }),
      { numRuns: 300 }
    )
  })

  test('a refusal names the moment a request passes: a window edge and a fractional refill', async () => {
    const key = freshKey('edge')
    const rule = window(3, 1000)
    const results = []
    for (let i = 0; i < 4; i++) results.push(await consumeQuota(client, key, rule, FUTURE))
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false])
    // As MemoryStore's own test: the previous 3 weigh 3·(1 − e/1000) in the next window.
    expect(results[3]).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetMs: 1000,
      retryAfterMs: 1334,
    })
    expect((await consumeQuota(client, key, rule, FUTURE + 1333)).allowed).toBe(false)
    expect((await consumeQuota(client, key, rule, FUTURE + 1334)).allowed).toBe(true)

    // 0.1 token a second: the stored balance is fractional and must survive a round trip.
    const slow = bucket(2, 0.1)
    const b = freshKey('frac')
    await consumeQuota(client, b, slow, FUTURE)
    await consumeQuota(client, b, slow, FUTURE + 3)
    const refused = await consumeQuota(client, b, slow, FUTURE + 4)
    let entry: QuotaEntry | undefined
    for (const at of [FUTURE, FUTURE + 3]) entry = applyRule(entry, slow, at).entry
    expect(refused).toEqual(applyRule(entry, slow, FUTURE + 4).result)
    expect(refused.allowed).toBe(false)
    // Stored as the double itself: 'b', tokens, updated (little-endian).
    const stored = (await client.getBuffer(b)) ?? Buffer.alloc(0)
    expect(stored).toHaveLength(17)
    expect(String.fromCharCode(stored[0] as number)).toBe('b')
    expect(stored.readDoubleLE(1)).toBe((entry as BucketEntry).tokens)
    expect(stored.readDoubleLE(9)).toBe(FUTURE + 3)
  })
  test('the retry wait is stepped to the exact millisecond where rounding puts it one off', async () => {
    // Found by search: here ceil((1 − tokens) / rate · 1000) − since is one short (0.1/s),
    // and one long (2.5/s), of the first millisecond at which a whole token is back.
    const cases = [
      { rule: bucket(3, 0.1), gaps: [97, 80, 47, 114], retryAfterMs: 9760 },
      { rule: bucket(3, 2.5), gaps: [43, 110, 78, 90], retryAfterMs: 122 },
    ]
    for (const { rule, gaps, retryAfterMs } of cases) {
      const key = freshKey('steps')
      let entry: QuotaEntry | undefined
      let now = FUTURE
      let got: RateLimitResult | undefined
      for (const gap of gaps) {
        now += gap
        const want = applyRule(entry, rule, now)
        entry = want.entry
        got = await consumeQuota(client, key, rule, now)
        expect(got).toEqual(want.result)
      }
      expect(got).toMatchObject({ allowed: false, retryAfterMs })
    }
  })
})

describe('consumeQuota across processes', () => {
  test('3 clients consuming one key at once: exactly the limit allowed in the window, each count given once', async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url), new Redis(redis.url)]
    try {
      await Promise.all(clients.map((c) => c.ping()))
      const key = freshKey('shared')
      const rule = window(25, 60_000)
      const results = (
        await Promise.all(
          clients.map((c) =>
            Promise.all(Array.from({ length: 40 }, () => consumeQuota(c, key, rule)))
          )
        )
      ).flat()
      const allowed = results.filter((r) => r.allowed)
      expect(allowed).toHaveLength(25)
      // Serialized: each allowed request saw one count more than the one before it.
      expect(allowed.map((r) => r.remaining).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 25 }, (_, i) => i)
      )
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true)

      // The control: the same decision taken client-side (GET, applyRule, SET) lets far more
      // through, so the count above would catch a script that was not atomic.
      const naiveKey = freshKey('naive')
      const naive = async (c: Redis) => {
        const text = await c.get(naiveKey)
        const applied = applyRule(
          text === null ? undefined : (JSON.parse(text) as QuotaEntry),
          rule,
          Date.now()
        )
        await c.set(naiveKey, JSON.stringify(applied.entry))
        return applied.result
      }
      const naiveResults = (
        await Promise.all(
          clients.map((c) => Promise.all(Array.from({ length: 40 }, () => naive(c))))
        )
      ).flat()
      expect(naiveResults.filter((r) => r.allowed).length).toBeGreaterThan(25)
    } finally {
      for (const c of clients) c.disconnect()
    }
  })
})

describe('consumeQuota keys', () => {
  test('on Redis’s own clock, the key is gone once it counts for nothing, and a fresh quota follows', async () => {
    const rule = window(2, 40)
    const key = freshKey('expire')
    const first = await consumeQuota(client, key, rule)
    expect(first).toEqual({ allowed: true, limit: 2, remaining: 1, resetMs: 40, retryAfterMs: 0 })
    // Two windows: the count weighs in the next window as the previous one.
    const ttl = await client.pttl(key)
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(80)
    await eventually(async () => (await client.exists(key)) === 0, 2_000)
    expect(await consumeQuota(client, key, rule)).toMatchObject({ allowed: true, remaining: 1 })

    const slow = bucket(3, 50) // empty to full in 60 ms
    const b = freshKey('expire-bucket')
    for (let i = 0; i < 3; i++) await consumeQuota(client, b, slow)
    expect(await client.pttl(b)).toBeLessThanOrEqual(60)
    await eventually(async () => (await client.exists(b)) === 0, 2_000)
  })

  test('state left by the other algorithm counts as none', async () => {
    const key = freshKey('mixed')
    await consumeQuota(client, key, window(1, 60_000), FUTURE)
    expect(await consumeQuota(client, key, bucket(2, 1), FUTURE)).toEqual(
      applyRule(undefined, bucket(2, 1), FUTURE).result
    )
  })
})

describe('consumeQuota round trips', () => {
  /** The commands `client` itself sent while `run` ran (not those of scripts: `lua`). */
  async function commandsOf(run: () => Promise<void>): Promise<string[][]> {
    const monitor = await client.monitor()
    try {
      const seen: string[][] = []
      const marker = `done-${++unique}`
      let resolveMarker = () => {}
      const markerSeen = new Promise<void>((resolve) => {
        resolveMarker = resolve
      })
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolveMarker()
        else if (source !== 'lua') seen.push(args)
      })
      await run()
      // MONITOR reports commands in the order Redis ran them: once the marker is seen,
      // everything before it has been too.
      await client.echo(marker)
      await markerSeen
      return seen
    } finally {
      monitor.disconnect()
    }
  }

  test('one EVALSHA per request once the script is loaded; EVAL again after SCRIPT FLUSH', async () => {
    const key = freshKey('trips')
    const rule = bucket(5, 0.01)
    await consumeQuota(client, key, rule) // loads the script (EVAL) and learns its hash
    const steady = await commandsOf(async () => {
      for (let i = 0; i < 5; i++) await consumeQuota(client, key, rule)
    })
    expect(steady.map((args) => args[0]?.toLowerCase())).toEqual(Array(5).fill('evalsha'))

    const other = new Redis(redis.url)
    try {
      await other.script('FLUSH')
    } finally {
      other.disconnect()
    }
    let afterFlush: RateLimitResult | undefined
    const reloaded = await commandsOf(async () => {
      afterFlush = await consumeQuota(client, key, rule)
      await consumeQuota(client, key, rule)
    })
    expect(reloaded.map((args) => args[0]?.toLowerCase())).toEqual(['evalsha', 'eval', 'evalsha'])
    // The 7th request on a bucket of 5 refilling one token per 100 s: refused.
    expect(afterFlush).toMatchObject({ allowed: false, remaining: 0 })
  })
})

describe('consumeQuota rules', () => {
  /** A client that records whether anything reached it. */
  function recorder() {
    const calls: string[] = []
    const reply = (name: string) => async () => {
      calls.push(name)
      return [1, 0, 1000, 0]
    }
    const fake = { eval: reply('eval'), evalsha: reply('evalsha') }
    return { calls, client: fake as unknown as Redis }
  }

  test('refuses, before sending anything, every rule the rateLimit middleware refuses', async () => {
    const { calls, client: fake } = recorder()
    const windows = [
      [0, 1000],
      [0.5, 1000],
      [-1, 1000],
      [Number.NaN, 1000],
      [1, 0],
      [1, -5],
      [1, Number.NaN],
    ] as const
    for (const [limit, windowMs] of windows) {
      expect(() => rateLimit({ limit, windowMs })).toThrow(RangeError)
      await expect(consumeQuota(fake, 'k', window(limit, windowMs))).rejects.toThrow(RangeError)
    }
    const buckets = [
      [0, 1],
      [0.5, 1],
      [Number.NaN, 1],
      [1, 0],
      [1, -1],
      [1, Number.NaN],
    ] as const
    for (const [capacity, refillPerSecond] of buckets) {
      expect(() => rateLimit({ tokens: capacity, refillPerSecond })).toThrow(RangeError)
      await expect(consumeQuota(fake, 'k', bucket(capacity, refillPerSecond))).rejects.toThrow(
        RangeError
      )
    }
    expect(calls).toEqual([])
  })

  test('also refuses what would never end or not fit in milliseconds, and an unknown algorithm', async () => {
    const { calls, client: fake } = recorder()
    const refused: RateLimitRule[] = [
      window(Number.POSITIVE_INFINITY, 1000),
      window(1, Number.POSITIVE_INFINITY),
      window(1, 2 ** 53),
      bucket(Number.POSITIVE_INFINITY, 1),
      bucket(1, Number.POSITIVE_INFINITY),
      // One token per 10^20 s: the wait is past 2^53 ms, where applyRule's loop never ends.
      bucket(1, 1e-20),
      { algorithm: 'fixed-window', limit: 1, windowMs: 1000 } as unknown as RateLimitRule,
    ]
    for (const rule of refused) {
      await expect(consumeQuota(fake, 'k', rule)).rejects.toThrow(RangeError)
    }
    await expect(consumeQuota(fake, 'k', window(1, 1000), Number.NaN)).rejects.toThrow(RangeError)
    expect(calls).toEqual([])
    // Fractional figures the middleware accepts are accepted.
    await consumeQuota(fake, 'k', window(2.5, 1000.5))
    await consumeQuota(fake, 'k', bucket(1.5, 0.01))
    expect(calls).toHaveLength(2)
  })
})
