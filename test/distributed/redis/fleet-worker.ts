/**
 * One process of the fleet in cross-process.test.ts, run by Node and by Deno alike: web APIs,
 * ioredis and edgeio's src only. It connects, prints `ready`, waits at the gate (a BLPOP on
 * `task.gate`, pushed once every process is ready, so that all start together however slow
 * their runtime is to boot), runs its task and prints the result, each a JSON line on stdout.
 *
 *   node test/distributed/redis/fleet-worker.ts <redis url> '<task json>'
 *   deno run --cached-only --allow-net --allow-env --allow-read test/distributed/redis/fleet-worker.ts …
 */
import { Redis } from 'ioredis'
import { createLocalCoordinator } from '../../../src/distributed/local.ts'
import { DistributedLock } from '../../../src/distributed/lock.ts'
import type { CoordinatorNamespace } from '../../../src/distributed/protocol.ts'
import { DistributedRateLimitStore } from '../../../src/distributed/rate-limit-store.ts'
import { createRedisCoordinator } from '../../../src/distributed/redis/coordinator.ts'
import { DistributedSemaphore } from '../../../src/distributed/semaphore.ts'

/** What one process does once the gate opens. `guard: 'none'` is the control: no lock. */
export type FleetTask = { gate: string } & (
  | {
      /** `count` read-modify-writes of `counter` (GET, then SET one more), one at a time. */
      kind: 'lock'
      name: string
      counter: string
      count: number
      guard: 'lock' | 'none'
    }
  | {
      /** `count` turns in `loops` parallel loops; each turn INCRs `holders`, then DECRs it. */
      kind: 'semaphore'
      name: string
      permits: number
      holders: string
      count: number
      loops: number
      guard: 'semaphore' | 'none'
    }
  | {
      /** `count` requests all at once against a sliding window of `limit` per `windowMs`. */
      kind: 'rate-limit'
      key: string
      limit: number
      windowMs: number
      count: number
      /** `'local'` is the control: a coordinator in this process, as without Redis. */
      coordinator: 'redis' | 'local'
    }
)

/** One line of a worker's report. */
export type FleetReport =
  | { event: 'ready'; runtime: 'node' | 'deno' }
  /** Per increment, in this process's order: its fencing token and the value it read. */
  | { event: 'lock'; increments: { token: number; read: number }[] }
  /** `most`: the highest holder count any of its INCRs returned. */
  | { event: 'semaphore'; turns: number; most: number; tokens: number[] }
  /** `remaining` of each allowed request; `refusedNow`: refusals without a retry delay. */
  | { event: 'rate-limit'; allowed: number; remaining: number[]; refusedNow: number }
  | { event: 'failed'; error: string }

interface DenoLike {
  args: string[]
  exit(code: number): never
}
const deno = (globalThis as { Deno?: DenoLike }).Deno

const report = (line: FleetReport) => console.log(JSON.stringify(line))

/** Widens the gap between a read and its write, so that unguarded writers do overlap. */
const gap = () => new Promise((resolve) => setTimeout(resolve, 1))

async function lockTask(
  task: Extract<FleetTask, { kind: 'lock' }>,
  coordinator: CoordinatorNamespace,
  redis: Redis
): Promise<FleetReport> {
  const lock = new DistributedLock(coordinator, task.name)
  const increment = async (token: number) => {
    const read = Number((await redis.get(task.counter)) ?? 0)
    await gap()
    await redis.set(task.counter, String(read + 1))
    return { token, read }
  }
  const increments: { token: number; read: number }[] = []
  for (let i = 0; i < task.count; i++) {
    increments.push(
      task.guard === 'lock' ? await lock.run(({ token }) => increment(token)) : await increment(0)
    )
  }
  return { event: 'lock', increments }
}

async function semaphoreTask(
  task: Extract<FleetTask, { kind: 'semaphore' }>,
  coordinator: CoordinatorNamespace,
  redis: Redis
): Promise<FleetReport> {
  const semaphore = new DistributedSemaphore(coordinator, task.name, task.permits)
  const tokens: number[] = []
  let most = 0
  let turns = 0
  const turn = async (token: number) => {
    most = Math.max(most, await redis.incr(task.holders))
    await gap()
    await redis.decr(task.holders)
    tokens.push(token)
    turns++
  }
  const loop = async (share: number) => {
    for (let i = 0; i < share; i++) {
      if (task.guard === 'semaphore') await semaphore.run(({ token }) => turn(token))
      else await turn(0)
    }
  }
  const shares = Array.from({ length: task.loops }, (_, i) =>
    Math.floor((task.count + i) / task.loops)
  )
  await Promise.all(shares.map(loop))
  return { event: 'semaphore', turns, most, tokens }
}

async function rateLimitTask(
  task: Extract<FleetTask, { kind: 'rate-limit' }>,
  coordinator: CoordinatorNamespace
): Promise<FleetReport> {
  const store = new DistributedRateLimitStore(coordinator)
  const rule = { algorithm: 'sliding-window', limit: task.limit, windowMs: task.windowMs } as const
  const results = await Promise.all(
    Array.from({ length: task.count }, () => store.consume(task.key, rule))
  )
  const allowed = results.filter((r) => r.allowed)
  return {
    event: 'rate-limit',
    allowed: allowed.length,
    remaining: allowed.map((r) => r.remaining),
    refusedNow: results.filter((r) => !r.allowed && !(r.retryAfterMs > 0)).length,
  }
}

async function main(url: string, task: FleetTask): Promise<void> {
  const redis = new Redis(url)
  const local = createLocalCoordinator()
  const shared = createRedisCoordinator({ url })
  const coordinator = task.kind === 'rate-limit' && task.coordinator === 'local' ? local : shared
  try {
    await redis.ping()
    report({ event: 'ready', runtime: deno ? 'deno' : 'node' })
    // Fails rather than waits for ever if the test never opens the gate.
    if ((await redis.blpop(task.gate, 20)) === null) throw new Error('the gate never opened')
    if (task.kind === 'lock') report(await lockTask(task, coordinator, redis))
    else if (task.kind === 'semaphore') report(await semaphoreTask(task, coordinator, redis))
    else report(await rateLimitTask(task, coordinator))
  } finally {
    local.close()
    await shared.close()
    redis.disconnect()
  }
}

if (import.meta.main) {
  const [url, json] = deno ? deno.args : process.argv.slice(2)
  if (!url || !json) throw new Error("usage: fleet-worker.ts <redis url> '<task json>'")
  let code = 0
  try {
    await main(url, JSON.parse(json) as FleetTask)
  } catch (error) {
    report({ event: 'failed', error: String((error as Error)?.stack ?? error) })
    code = 1
  }
  // Both runtimes end by themselves once closed (checked); exiting here keeps a handle left
  // open by a future bug from turning into a test timeout.
  if (deno) deno.exit(code)
  else process.exit(code)
}
