/**
 * The Redis benchmarks of `edgeio/redis` beside the libraries Node users reach for: locks
 * against redis-semaphore, rate limits against rate-limiter-flexible, the job queue against
 * BullMQ used directly. Each starts its own redis-server (test/redis/server.ts). `npm run
 * bench` includes this section; alone:
 *
 *   node bench/redis/index.ts            (prints the section)
 *   node bench/redis/index.ts --write    (and replaces BENCHMARKS.md's "Redis" section)
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type RedisJobsRow, runRedisJobsBench } from './jobs.ts'
import { type RedisLockRow, runRedisLockBench } from './lock.ts'
import { type RedisRateLimitRow, runRedisRateLimitBench } from './rate-limit.ts'

export interface RedisBenchResults {
  redisVersion: string
  lock: RedisLockRow[]
  rateLimit: RedisRateLimitRow[]
  jobs: RedisJobsRow[]
}

const fixed = (n: number, digits = 2) => n.toFixed(digits)
const whole = (n: number) => Math.round(n).toLocaleString('en-US')
/** Three significant digits below 1,000 (latencies in ms, µs), whole numbers above. */
const figure = (n: number) => (Math.abs(n) >= 1000 ? whole(n) : String(Number(n.toPrecision(3))))

/** Runs the three benches one after the other (each on its own Redis). */
export async function runRedisBenches(): Promise<RedisBenchResults> {
  const redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' })
    .split(' ')
    .find((part) => part.startsWith('v='))
    ?.slice(2) as string
  return {
    redisVersion,
    lock: await runRedisLockBench(),
    rateLimit: await runRedisRateLimitBench(),
    jobs: await runRedisJobsBench({ rounds: 12 }),
  }
}

/** The section of BENCHMARKS.md, from its `## Redis` heading to the end of its last table. */
export function redisSection(results: RedisBenchResults): string {
  const lockRows = results.lock.map(
    (row) =>
      `| ${row.measure} | ${figure(row.edgeio)} | ${figure(row.redisSemaphore)} | ${fixed(row.ratio)} | ${row.target ?? ''} |`
  )
  const rateRows = results.rateLimit.map(
    (row) =>
      `| ${row.rule} | ${row.concurrency} | ${whole(row.edgeio)} | ${whole(row.rateLimiterFlexible)} | ${fixed(row.ratio)} (${fixed(row.ratioRange[0])}–${fixed(row.ratioRange[1])}) |`
  )
  const jobRows = results.jobs.map(
    (row) =>
      `| ${row.send === 'batch' ? '100 per call' : 'one per call'} | ${row.jobs} | ${row.concurrency} | ${whole(row.edgeio)} | ${whole(row.bullmq)} | ${fixed(row.overheadPercent, 1)} % (${fixed(row.overheadRange[0], 1)} – ${fixed(row.overheadRange[1], 1)}) |`
  )
  return `## Redis (edgeio/redis)

One redis-server ${results.redisVersion} per bench on loopback, started by the bench
(\`node bench/redis/index.ts\`); both libraries in the same process, interleaved rounds.

### Locks: edgeio's DistributedLock / DistributedSemaphore vs redis-semaphore

redis-semaphore's Mutex and Semaphore (the most used Node library for this) give neither
FIFO nor fencing tokens; edgeio gives both. Target: uncontended latency ≤ 1.2 × redis-semaphore's.

| measure | edgeio | redis-semaphore | edgeio / redis-semaphore | target |
| --- | --- | --- | --- | --- |
${lockRows.join('\n')}

### Rate limits: consumeQuota (DistributedRateLimitStore on Redis) vs rate-limiter-flexible

rate-limiter-flexible's RateLimiterRedis counts a fixed window of the same figures (it has no
sliding window); edgeio computes a sliding window or a token bucket on Redis's clock, one
EVALSHA per decision. Decisions per second, 1,000 keys. Target: edgeio ≥ 1.0 ×.

| edgeio rule | in flight | edgeio /s | rate-limiter-flexible /s | edgeio / RLF (range) |
| --- | --- | --- | --- | --- |
${rateRows.join('\n')}

### Job queue: RedisJobQueue vs BullMQ used directly

No-op jobs through edgeio's job contract (retry rule, JSON check, shutdown drain) on BullMQ,
against BullMQ's Queue + Worker with no wrapper. Target: overhead ≤ 10 %.

| sent | jobs | concurrency | edgeio jobs/s | BullMQ jobs/s | overhead (range) |
| --- | --- | --- | --- | --- | --- |
${jobRows.join('\n')}
`
}

/**
 * Replaces the `## Redis` section of `markdown` (up to the next `## ` heading), or puts it
 * where `npm run bench` writes it: before `## Primitives`.
 */
export function replaceRedisSection(markdown: string, section: string): string {
  const start = markdown.indexOf('## Redis (edgeio/redis)')
  if (start < 0) {
    const primitives = markdown.indexOf('## Primitives')
    if (primitives < 0) return `${markdown.trimEnd()}\n\n${section}`
    return `${markdown.slice(0, primitives)}${section}\n${markdown.slice(primitives)}`
  }
  const next = markdown.indexOf('\n## ', start + 1)
  return `${markdown.slice(0, start)}${section}${next < 0 ? '' : markdown.slice(next)}`
}

if (import.meta.main) {
  const results = await runRedisBenches()
  const section = redisSection(results)
  console.log(section)
  if (process.argv.includes('--write')) {
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const file = `${root}BENCHMARKS.md`
    writeFileSync(file, replaceRedisSection(readFileSync(file, 'utf8'), section))
    // BENCHMARKS.md is linted by `npm test`: give it the one formatter's layout.
    execFileSync(
      process.execPath,
      [`${root}node_modules/@biomejs/biome/bin/biome`, 'format', '--write', 'BENCHMARKS.md'],
      { cwd: root, stdio: 'ignore' }
    )
  }
  process.exit(0)
}
