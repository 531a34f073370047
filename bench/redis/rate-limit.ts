/**
 * Rate-limit decisions per second over Redis: edgeio's `consumeQuota` against
 * rate-limiter-flexible's `RateLimiterRedis` (ioredis client), on one `redis-server` started
 * here, in one process, one connection each, rounds alternating.
 *
 * The rules are as alike as the two libraries allow: rate-limiter-flexible counts fixed
 * windows (SET NX + INCRBY + PTTL in its script), edgeio a sliding window (two counters) or a
 * token bucket. Each row is 10 requests per second per key over 1,000 keys taken in turn; the
 * share of decisions that allowed is printed beside the rates (a refusal is a decision too).
 *
 *   node bench/redis/rate-limit.ts
 */
import { Redis } from 'ioredis'
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { consumeQuota } from '../../src/distributed/redis/quota.ts'
import type { RateLimitRule } from '../../src/quota/index.ts'
import { startRedis } from '../../test/redis/server.ts'
import { median } from '../stats.ts'

export interface RedisRateLimitRow {
  /** edgeio's rule; rate-limiter-flexible always counts a fixed window of the same figures. */
  rule: string
  /** Requests in flight at once. */
  concurrency: number
  /** Decisions per second (allowed or refused), median of the rounds. */
  edgeio: number
  rateLimiterFlexible: number
  /**
   * edgeio / rate-limiter-flexible, the median of the rounds' ratios (each round of one
   * library next to the other's, so that a change in the machine's load hits both): the
   * target is ≥ 1.0.
   */
  ratio: number
  /** The lowest and highest of the rounds' ratios. */
  ratioRange: [number, number]
  /** The share of decisions that allowed the request (median of the rounds), each library. */
  edgeioAllowed: number
  rateLimiterFlexibleAllowed: number
}

export interface RedisRateLimitBenchOptions {
  /** Length of one library's round, in ms. Default 200. */
  roundMs?: number
  /** Rounds per library and row. Default 16. */
  rounds?: number
}

const KEYS = 1_000
const LIMIT = 10

interface Round {
  /** Decisions per second. */
  rate: number
  /** The share of them that allowed the request. */
  allowed: number
}

/** Decisions per second of `consume` (which says whether it allowed) with `concurrency` in flight. */
async function round(
  consume: (key: string) => Promise<boolean>,
  concurrency: number,
  ms: number
): Promise<Round> {
  let next = 0
  let done = 0
  let allowed = 0
  const start = performance.now()
  const end = start + ms
  const worker = async () => {
    while (performance.now() < end) {
      if (await consume(`k${next++ % KEYS}`)) allowed++
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { rate: done / ((performance.now() - start) / 1000), allowed: allowed / done }
}

/**
 * One request at a time, the two libraries taking turns request by request (the first of
 * each pair alternating), each timed on its own: a single request's time is mostly waiting
 * for the reply, which on a shared machine swings with its load from one moment to the next,
 * so both must meet the same moments.
 */
async function pairedRound(
  a: (key: string) => Promise<boolean>,
  b: (key: string) => Promise<boolean>,
  ms: number
): Promise<[Round, Round]> {
  const spent = [0, 0]
  const allowed = [0, 0]
  const both = [a, b]
  let done = 0
  const end = performance.now() + ms
  while (performance.now() < end) {
    const key = `k${done % KEYS}`
    for (const which of done % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = performance.now()
      if (await (both[which] as typeof a)(key)) (allowed[which] as number)++
      ;(spent[which] as number) += performance.now() - start
    }
    done++
  }
  const result = (which: number): Round => ({
    rate: done / ((spent[which] as number) / 1000),
    allowed: (allowed[which] as number) / done,
  })
  return [result(0), result(1)]
}

/**
 * Runs each row: both libraries, after a warm-up round each, rounds alternating (the one that
 * goes first alternates too), or, one request at a time, requests alternating.
 */
export async function runRedisRateLimitBench(
  options: RedisRateLimitBenchOptions = {}
): Promise<RedisRateLimitRow[]> {
  const roundMs = options.roundMs ?? 200
  const rounds = options.rounds ?? 16
  const server = await startRedis()
  const edgeioClient = new Redis(server.url)
  const rlfClient = new Redis(server.url)
  try {
    await Promise.all([edgeioClient.ping(), rlfClient.ping()])
    const limiter = new RateLimiterRedis({
      storeClient: rlfClient,
      useRedisPackage: false,
      keyPrefix: 'rlf',
      points: LIMIT,
      duration: 1,
    })
    // A refusal rejects with a RateLimiterRes: a decision like any other. Anything else is
    // a failure and stops the bench.
    const rlf = (key: string) =>
      limiter.consume(key).then(
        () => true,
        (reason: unknown) => {
          if (reason instanceof RateLimiterRes) return false
          throw reason
        }
      )
    const rules: [string, RateLimitRule][] = [
      [`sliding window ${LIMIT}/s`, { algorithm: 'sliding-window', limit: LIMIT, windowMs: 1000 }],
      [
        `token bucket ${LIMIT}, ${LIMIT}/s`,
        { algorithm: 'token-bucket', capacity: LIMIT, refillPerSecond: LIMIT },
      ],
    ]
    const rows: RedisRateLimitRow[] = []
    for (const concurrency of [1, 64]) {
      for (const [name, rule] of rules) {
        const edgeio = async (key: string) =>
          (await consumeQuota(edgeioClient, `{e}:${key}`, rule)).allowed
        await round(edgeio, concurrency, 200)
        await round(rlf, concurrency, 200)
        const ours: Round[] = []
        const theirs: Round[] = []
        for (let i = 0; i < rounds; i++) {
          if (concurrency === 1) {
            const [mine, other] = await pairedRound(edgeio, rlf, 2 * roundMs)
            ours.push(mine)
            theirs.push(other)
          } else if (i % 2 === 0) {
            ours.push(await round(edgeio, concurrency, roundMs))
            theirs.push(await round(rlf, concurrency, roundMs))
          } else {
            theirs.push(await round(rlf, concurrency, roundMs))
            ours.push(await round(edgeio, concurrency, roundMs))
          }
        }
        const ratios = ours.map((r, i) => r.rate / (theirs[i] as Round).rate)
        rows.push({
          rule: name,
          concurrency,
          edgeio: median(ours.map((r) => r.rate)),
          rateLimiterFlexible: median(theirs.map((r) => r.rate)),
          ratio: median(ratios),
          ratioRange: [Math.min(...ratios), Math.max(...ratios)],
          edgeioAllowed: median(ours.map((r) => r.allowed)),
          rateLimiterFlexibleAllowed: median(theirs.map((r) => r.allowed)),
        })
      }
    }
    return rows
  } finally {
    edgeioClient.disconnect()
    rlfClient.disconnect()
    await server.stop()
  }
}

const pct = (share: number) => `${Math.round(share * 100)} %`

if (import.meta.main) {
  const rows = await runRedisRateLimitBench()
  console.table(
    rows.map((row) => ({
      'edgeio rule (RLF: fixed window, same figures)': row.rule,
      'in flight': row.concurrency,
      'edgeio /s': Math.round(row.edgeio),
      'RLF /s': Math.round(row.rateLimiterFlexible),
      'edgeio / RLF': `${row.ratio.toFixed(2)} (${row.ratioRange.map((r) => r.toFixed(2)).join('–')})`,
      'allowed edgeio / RLF': `${pct(row.edgeioAllowed)} / ${pct(row.rateLimiterFlexibleAllowed)}`,
    }))
  )
}
