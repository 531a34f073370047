// DistributedLock, DistributedSemaphore and DistributedRateLimitStore on the Redis coordinator
// across real processes: 4 Node and 1 Deno (test/distributed/redis/fleet-worker.ts) on one
// redis-server started here. Each property has its control: the same processes without the
// guard (or with a coordinator of their own) break it, so the test can fail.
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RedisServer, startRedis } from '../../redis/server.ts'
import type { FleetReport, FleetTask } from './fleet-worker.ts'

type Runtime = 'node' | 'deno'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const WORKER = 'test/distributed/redis/fleet-worker.ts'
const COMMANDS: Record<Runtime, string[]> = {
  node: [`${root}node_modules/.bin/node`, WORKER],
  deno: [
    `${root}node_modules/.bin/deno`,
    'run',
    '--cached-only',
    '--allow-net',
    '--allow-env',
    '--allow-read',
    WORKER,
  ],
}
const FIVE: Runtime[] = ['node', 'node', 'node', 'node', 'deno']
const THREE: Runtime[] = ['node', 'node', 'deno']
/** Boot and connect: Deno takes about a second on a loaded machine. */
const READY_MS = 10_000

/** Every child started, killed after each test if still running (a failed test's too). */
const children = new Set<ChildProcess>()
afterEach(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
})

let server: RedisServer
let redis: Redis
beforeAll(async () => {
  server = await startRedis()
  redis = new Redis(server.url)
})
afterAll(async () => {
  redis?.disconnect()
  await server?.stop()
})

let unique = 0
const fresh = (what: string) => `${what}-${++unique}`
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

interface Running {
  /** The runtime the process says it runs on, once it is connected and at the gate. */
  ready: Promise<Runtime>
  /** Its result line; rejects if it fails or exits without one. */
  result: Promise<FleetReport>
}

function start(runtime: Runtime, task: FleetTask): Running {
  const [command, ...args] = COMMANDS[runtime] as [string, ...string[]]
  const child = spawn(command, [...args, server.url, JSON.stringify(task)], {
    cwd: root,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  const ready = Promise.withResolvers<Runtime>()
  const result = Promise.withResolvers<FleetReport>()
  let out = ''
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
    for (let end = out.indexOf('\n'); end >= 0; end = out.indexOf('\n')) {
      const text = out.slice(0, end)
      out = out.slice(end + 1)
      let line: FleetReport
      try {
        line = JSON.parse(text) as FleetReport
      } catch {
        err += `${text}\n` // not a report: kept for the error message
        continue
      }
      if (line.event === 'ready') ready.resolve(line.runtime)
      else if (line.event === 'failed') result.reject(new Error(`${runtime}: ${line.error}`))
      else result.resolve(line)
    }
  })
  // A worker that cannot reach Redis (or is refused a permission) would otherwise wait
  // for ever to connect: fail with what it printed instead.
  const slow = setTimeout(
    () => ready.reject(new Error(`${runtime} worker not ready after ${READY_MS} ms:\n${err}`)),
    READY_MS
  )
  ready.promise.finally(() => clearTimeout(slow)).catch(() => {})
  child.on('exit', (code, signal) => {
    const error = new Error(`${runtime} worker exited (${code ?? signal}) early:\n${err}`)
    ready.reject(error)
    result.reject(error)
  })
  // Whichever is not awaited after a failure must not count as unhandled.
  ready.promise.catch(() => {})
  result.promise.catch(() => {})
  return { ready: ready.promise, result: result.promise }
}

/**
 * Starts one process per runtime in parallel, opens the gate once all are connected, and
 * returns their reports in order.
 */
async function fleet<E extends FleetReport['event']>(
  runtimes: Runtime[],
  event: E,
  task: FleetTask extends infer T ? (T extends FleetTask ? Omit<T, 'gate'> : never) : never
): Promise<Extract<FleetReport, { event: E }>[]> {
  const gate = fresh('gate')
  const running = runtimes.map((runtime) => start(runtime, { ...task, gate } as FleetTask))
  // Each really runs on its runtime (Deno's process is Deno).
  expect(await Promise.all(running.map((r) => r.ready))).toEqual(runtimes)
  await redis.rpush(gate, ...runtimes.map(() => 'go'))
  const reports = await Promise.all(running.map((r) => r.result))
  for (const report of reports) expect(report.event).toBe(event)
  return reports as Extract<FleetReport, { event: E }>[]
}

describe('Redis coordinator across processes (4 Node + 1 Deno)', () => {
  it('200 GET/SET increments under one DistributedLock from 5 processes: exactly 200, in token order', async () => {
    const name = fresh('lock')
    const counter = `${name}:counter`
    const reports = await fleet(FIVE, 'lock', {
      kind: 'lock',
      name,
      counter,
      count: 40,
      guard: 'lock',
    })
    expect(await redis.get(counter)).toBe('200')
    const increments = reports.flatMap((r) => r.increments)
    // Fencing tokens order the critical sections: each read what the one before wrote.
    const byToken = increments.toSorted((a, b) => a.token - b.token)
    expect(byToken.map((i) => i.token)).toEqual(range(200).map((i) => i + 1))
    expect(byToken.map((i) => i.read)).toEqual(range(200))
    // The processes took turns (FIFO) rather than one after another: each one's tokens
    // are spread among the others'.
    for (const { increments: own } of reports) {
      const tokens = own.map((i) => i.token)
      expect(Math.max(...tokens) - Math.min(...tokens)).toBeGreaterThan(own.length * 2)
    }
  })

  it('control: the same increments without the lock lose updates', async () => {
    const name = fresh('unlocked')
    const counter = `${name}:counter`
    const reports = await fleet(FIVE, 'lock', {
      kind: 'lock',
      name,
      counter,
      count: 40,
      guard: 'none',
    })
    expect(reports.flatMap((r) => r.increments)).toHaveLength(200)
    expect(Number(await redis.get(counter))).toBeLessThan(200)
  })

  it('a DistributedSemaphore(…, 3) shared by 5 processes never has more than 3 holders', async () => {
    const name = fresh('pool')
    const holders = `${name}:holders`
    const task = { kind: 'semaphore', name, permits: 3, holders, count: 12, loops: 2 } as const
    const reports = await fleet(FIVE, 'semaphore', { ...task, guard: 'semaphore' })
    // 3 at most, and 3 reached: 10 loops contended for the 3 permits.
    expect(Math.max(...reports.map((r) => r.most))).toBe(3)
    expect(reports.map((r) => r.turns)).toEqual([12, 12, 12, 12, 12])
    const tokens = reports.flatMap((r) => r.tokens).sort((a, b) => a - b)
    expect(tokens).toEqual(range(60).map((i) => i + 1))
    expect(await redis.get(holders)).toBe('0')
  })

  it('control: the same turns without the semaphore have more than 3 holders at once', async () => {
    const name = fresh('unguarded')
    const holders = `${name}:holders`
    const task = { kind: 'semaphore', name, permits: 3, holders, count: 12, loops: 2 } as const
    const reports = await fleet(FIVE, 'semaphore', { ...task, guard: 'none' })
    expect(Math.max(...reports.map((r) => r.most))).toBeGreaterThan(3)
  })

  it('one rate limit shared by 3 processes allows exactly its quota in total', async () => {
    const key = fresh('client')
    const rule = { limit: 25, windowMs: 3_600_000 }
    const reports = await fleet(THREE, 'rate-limit', {
      kind: 'rate-limit',
      key,
      ...rule,
      count: 20,
      coordinator: 'redis',
    })
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(25)
    // One count, not three: every allowed request saw its own `remaining`, 24 down to 0.
    const remaining = reports.flatMap((r) => r.remaining).sort((a, b) => a - b)
    expect(remaining).toEqual(range(25))
    expect(reports.map((r) => r.refusedNow)).toEqual([0, 0, 0])
  })

  it('control: a coordinator per process (no Redis) multiplies the quota', async () => {
    const key = fresh('client')
    const reports = await fleet(THREE, 'rate-limit', {
      kind: 'rate-limit',
      key,
      limit: 25,
      windowMs: 3_600_000,
      count: 20,
      coordinator: 'local',
    })
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(60)
  })
})
