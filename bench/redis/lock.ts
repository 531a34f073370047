/**
 * Distributed locks on Redis: edgeio's `DistributedLock` and `DistributedSemaphore` on the
 * Redis coordinator against redis-semaphore's `Mutex` and `Semaphore` (ioredis client), the
 * most used Node library for this, which has neither fencing tokens nor FIFO waiters. One
 * `redis-server` started here; each library on a connection of its own.
 *
 * - Uncontended: `acquire()` + `release()` of a fresh lock object (as both READMEs use them),
 *   the libraries taking turns cycle by cycle, each cycle timed on its own: a cycle is two
 *   round trips of waiting for Redis, which on a shared machine swings with its load from one
 *   moment to the next, so both must meet the same moments. The issue's target: edgeio's
 *   median latency ≤ 1.2 × redis-semaphore's. The lock's rotation also holds edgeio's layers
 *   peeled one by one ({@link profile}), each against redis-semaphore's cycle.
 * - Round trips: the commands each acquire and each release sent, as Redis's `MONITOR` saw
 *   them (and those run inside their scripts), and Redis's time in each half (`SLOWLOG`).
 * - Contended: 4 Node processes per library (bench/redis/lock-worker.ts) loop acquire →
 *   GET/SET increment → release on one lock for a fixed time, rounds alternating. Turns per
 *   second, and hand-offs: turns that went to another process than the one before.
 *   redis-semaphore's waiters poll (every 10 ms by default), so its holder mostly takes the
 *   lock straight back; edgeio's are woken in FIFO order.
 *
 *   node bench/redis/lock.ts
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { Mutex, Semaphore } from 'redis-semaphore'
import { REATTACH_GRACE_MS } from '../../src/distributed/coordinator.ts'
import { DistributedLock } from '../../src/distributed/lock.ts'
import { resourceName } from '../../src/distributed/protocol.ts'
import {
  createRedisCoordinator,
  objectKeys,
  type RedisCoordinator,
} from '../../src/distributed/redis/coordinator.ts'
import { ACQUIRE, RELEASE } from '../../src/distributed/redis/lease-scripts.ts'
import { DistributedSemaphore } from '../../src/distributed/semaphore.ts'
import { startRedis } from '../../test/redis/server.ts'
import { median } from '../stats.ts'
import type { LockWorkerReport, LockWorkerTask } from './lock-worker.ts'

export interface RedisLockRow {
  /** What was measured, and in what unit. */
  measure: string
  edgeio: number
  redisSemaphore: number
  /** edgeio / redis-semaphore (for timed figures: the median of the rounds' ratios). */
  ratio: number
  /** The issue's target for this figure, if it has one. */
  target?: string
  /** Which commands, for the round-trip rows. */
  detail?: string
}

export interface RedisLockBenchOptions {
  /** Length of one uncontended round (both libraries), in ms. Default 500. */
  roundMs?: number
  /** Uncontended rounds per row. Default 12. */
  rounds?: number
  /** Length of one contended round, in ms. Default 2 000. */
  contendedMs?: number
  /** Contended rounds per library. Default 3. */
  contendedRounds?: number
}

/** Same lease for both (redis-semaphore's default `lockTimeout`). */
const LEASE_MS = 10_000
const PROCESSES = 4

/** Takes a permit and gives back the function that releases it. */
type Acquire = () => Promise<() => Promise<unknown>>

/** One way of taking and giving back a permit, in one interleaved rotation. */
interface Contestant {
  name: string
  acquire: Acquire
}

/** Latencies of one contestant, ms: each half, and the whole `cycle`. */
interface Times {
  acquire: number[]
  release: number[]
  cycle: number[]
}

const noTimes = (): Times => ({ acquire: [], release: [], cycle: [] })

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number

/**
 * Runs the contestants in turn, one cycle each per turn (who goes first rotating), each
 * cycle timed on its own, for `ms`.
 */
async function round(contestants: readonly Contestant[], ms: number): Promise<Times[]> {
  const times = contestants.map(noTimes)
  const end = performance.now() + ms
  for (let turn = 0; performance.now() < end; turn++) {
    for (let k = 0; k < contestants.length; k++) {
      const which = (turn + k) % contestants.length
      const start = performance.now()
      const release = await (contestants[which] as Contestant).acquire()
      const acquired = performance.now()
      await release()
      const released = performance.now()
      const t = times[which] as Times
      t.acquire.push(acquired - start)
      t.release.push(released - acquired)
      t.cycle.push(released - start)
    }
  }
  return times
}

/**
 * The rows of one kind (lock or semaphore): edgeio (contestant 0) against redis-semaphore
 * (1), and each further contestant's median cycle against redis-semaphore's (the profile).
 */
async function uncontended(
  label: string,
  contestants: readonly Contestant[],
  { roundMs, rounds }: { roundMs: number; rounds: number }
): Promise<RedisLockRow[]> {
  await round(contestants, roundMs) // warm-up: JIT, scripts loaded, connections up
  const all = contestants.map(noTimes)
  /** Per round, each contestant's median cycle over redis-semaphore's. */
  const ratios = contestants.map((): number[] => [])
  for (let i = 0; i < rounds; i++) {
    const times = await round(contestants, roundMs)
    const theirs = median((times[1] as Times).cycle)
    times.forEach((t, k) => {
      for (const half of ['acquire', 'release', 'cycle'] as const) {
        ;(all[k] as Times)[half].push(...t[half])
      }
      ;(ratios[k] as number[]).push(median(t.cycle) / theirs)
    })
  }
  for (const t of all) for (const list of Object.values(t) as number[][]) list.sort((x, y) => x - y)
  const [ours, others] = all as [Times, Times]
  const rate = (t: Times) => t.cycle.length / (t.cycle.reduce((s, x) => s + x, 0) / 1000)
  const row = (measure: string, a: number, b: number, ratio = a / b): RedisLockRow => ({
    measure: `${label}: ${measure}`,
    edgeio: a,
    redisSemaphore: b,
    ratio,
  })
  return [
    row('acquire + release, cycles/s', rate(ours), rate(others)),
    {
      ...row('median latency, ms', median(ours.cycle), median(others.cycle)),
      ratio: median(ratios[0] as number[]),
      target: '≤ 1.2',
    },
    row('p99 latency, ms', quantile(ours.cycle, 0.99), quantile(others.cycle, 0.99)),
    row('  of which acquire (median), ms', median(ours.acquire), median(others.acquire)),
    row('  of which release (median), ms', median(ours.release), median(others.release)),
    ...contestants.slice(2).map((c, k) => ({
      ...row(
        `profile: ${c.name}, median cycle, ms`,
        median((all[k + 2] as Times).cycle),
        median(others.cycle)
      ),
      ratio: median(ratios[k + 2] as number[]),
    })),
  ]
}

interface Count {
  /** Commands sent by clients (each awaited: round trips), by name. */
  sent: Map<string, number>
  /** Commands run inside scripts, by name. */
  inside: Map<string, number>
}

const bump = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1)
const total = (map: Map<string, number>) => [...map.values()].reduce((s, n) => s + n, 0)
const listed = (map: Map<string, number>, n: number) =>
  [...map].map(([name, c]) => `${c / n === 1 ? '' : `${c / n} × `}${name}`).join(', ') || 'none'

/**
 * `n` cycles of `acquire` with an `ECHO acquired` / `ECHO released` from `admin` after each
 * half: Redis runs commands one at a time, so whatever watches them in order can tell the
 * halves apart.
 */
async function marked(admin: Redis, acquire: Acquire, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const release = await acquire()
    await admin.echo('acquired')
    await release()
    await admin.echo('released')
  }
}

/**
 * What acquire and release cost Redis, and this process. Commands: from `MONITOR`, which
 * names each command's client, or `lua` inside a script (those sent are round trips: each is
 * awaited). Redis's time: from `SLOWLOG` with every command logged, which times each command
 * a client sent (a script with what it runs), without the monitor's cost; the median per
 * half. The client's: `process.cpuUsage()` over further cycles.
 */
async function roundTrips(admin: Redis, acquire: Acquire, n = 200) {
  const monitor = await admin.monitor()
  const counts = {
    acquire: { sent: new Map(), inside: new Map() } as Count,
    release: { sent: new Map(), inside: new Map() } as Count,
  }
  let count = counts.acquire
  const seen = Promise.withResolvers<void>()
  let echoes = 0
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = String(args[0]).toLowerCase()
    if (name !== 'echo') bump(source === 'lua' ? count.inside : count.sent, name)
    else {
      count = args[1] === 'acquired' ? counts.release : counts.acquire
      if (++echoes === 2 * n) seen.resolve()
    }
  })
  await marked(admin, acquire, n)
  await seen.promise
  monitor.disconnect()

  await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', String(8 * n))
  await admin.slowlog('RESET')
  await marked(admin, acquire, n)
  const log = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][]
  await admin.config('SET', 'slowlog-log-slower-than', '10000', 'slowlog-max-len', '128')
  const times = { acquire: [] as number[], release: [] as number[] }
  let half: number[] = times.acquire
  let spent = 0
  for (const [, , usec, [command, arg]] of log.toReversed()) {
    const name = String(command).toLowerCase()
    if (name === 'echo') {
      half.push(spent)
      spent = 0
      half = arg === 'acquired' ? times.release : times.acquire
    } else if (name !== 'slowlog' && name !== 'config') spent += usec
  }
  // This process's CPU per cycle (ioredis included), the side Redis's figures leave out.
  const cpu = process.cpuUsage()
  for (let i = 0; i < 4 * n; i++) await (await acquire())()
  const { user, system } = process.cpuUsage(cpu)
  const { acquire: a, release: r } = counts
  return {
    clientUsec: (user + system) / (4 * n),
    acquire: total(a.sent) / n,
    release: total(r.sent) / n,
    detail: `acquire: ${listed(a.sent, n)} (inside: ${listed(a.inside, n)}); release: ${listed(r.sent, n)} (inside: ${listed(r.inside, n)})`,
    acquireUsec: median(times.acquire),
    releaseUsec: median(times.release),
  }
}

/** The contended rounds of one library: its 4 processes' turns in one sequence. */
async function contendedRound(
  url: string,
  library: LockWorkerTask['library'],
  durationMs: number,
  gates: Redis,
  round: number
): Promise<{ turns: number; handOffs: number; exact: boolean }> {
  const name = `contended-${library}-${round}`
  const task: LockWorkerTask = {
    library,
    name,
    gate: `${name}:gate`,
    durationMs,
    leaseMs: LEASE_MS,
  }
  const worker = fileURLToPath(new URL('./lock-worker.ts', import.meta.url))
  const children: ChildProcess[] = []
  try {
    const reports = Array.from({ length: PROCESSES }, () => {
      const child = spawn(process.execPath, [worker, url, JSON.stringify(task)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      children.push(child)
      return lines(child)
    })
    await Promise.all(reports.map((r) => r.next())) // every process connected
    await gates.rpush(task.gate, ...children.map(() => 'go'))
    const results = await Promise.all(
      reports.map(async (r) => JSON.parse((await r.next()).value as string) as LockWorkerReport)
    )
    const turns = results
      .flatMap(({ reads }, process) => reads.map((read) => ({ read, process })))
      .sort((a, b) => a.read - b.read)
    let handOffs = 0
    for (let i = 1; i < turns.length; i++) {
      if (turns[i]?.process !== turns[i - 1]?.process) handOffs++
    }
    // Each turn read what the one before wrote: the lock held.
    const exact = turns.every((t, i) => t.read === i)
    return { turns: turns.length, handOffs, exact }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  }
}

/** The lines a child prints on stdout, one by one; fails if it exits first. */
async function* lines(child: ChildProcess): AsyncGenerator<string, never> {
  let buffered = ''
  const stdout = child.stdout as NonNullable<ChildProcess['stdout']>
  stdout.setEncoding('utf8')
  for await (const chunk of stdout) {
    buffered += chunk
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      yield buffered.slice(0, end)
      buffered = buffered.slice(end + 1)
    }
  }
  throw new Error(`lock-worker exited (${child.exitCode ?? child.signalCode}) before its report`)
}

/**
 * The layers of edgeio's acquire + release, peeled one by one, to see where its time goes
 * (each on a resource of its own, so that none contends):
 * - the same lock on a coordinator given a client (`{ client }`: a timer per call instead
 *   of ioredis's `commandTimeout`);
 * - the coordinator's stub alone (`acquire` + `release` calls, without lease.ts);
 * - its two scripts alone (EVALSHA on a plain client, the arguments the stub sends);
 * - two PINGs: two round trips that do nothing, the floor of any two-round-trip cycle.
 */
function profile(onClient: RedisCoordinator, plain: Redis): Contestant[] {
  const name = resourceName('lock', 'stub')
  const stub = onClient.get(onClient.idFromName(name))
  const raw = resourceName('lock', 'scripts')
  const keys = objectKeys('edgeio', raw)
  return [
    {
      name: 'edgeio DistributedLock on { client }',
      async acquire() {
        const held = await new DistributedLock(onClient, 'on-client', {
          leaseMs: LEASE_MS,
        }).acquire()
        return () => held.release()
      },
    },
    {
      name: 'edgeio coordinator stub alone',
      async acquire() {
        const id = crypto.randomUUID()
        const request = { name, id, permits: 1, leaseMs: LEASE_MS, waitMs: 5_000 }
        const reply = await stub.acquire(request)
        if (!reply.granted) throw new Error('not granted')
        return () => stub.release({ name, id })
      },
    },
    {
      name: 'edgeio scripts alone (EVALSHA)',
      async acquire() {
        const id = crypto.randomUUID()
        // The arguments the stub sends: a join ('2': a plain id), 1 permit, the lease, waitMs.
        const args = [id, '2', '1', String(LEASE_MS), '5000', String(REATTACH_GRACE_MS)]
        const reply = String(await ACQUIRE.run(plain, [keys.resource(raw)], args))
        if (!reply.startsWith('1 ')) throw new Error(`not granted: ${reply}`)
        return () => RELEASE.run(plain, [keys.resource(raw)], [id])
      },
    },
    {
      name: '2 × PING (floor)',
      async acquire() {
        await plain.ping()
        return () => plain.ping()
      },
    },
  ]
}

/** Runs every row on one fresh `redis-server`. */
export async function runRedisLockBench(
  options: RedisLockBenchOptions = {}
): Promise<RedisLockRow[]> {
  const timing = { roundMs: options.roundMs ?? 500, rounds: options.rounds ?? 12 }
  const contendedMs = options.contendedMs ?? 2_000
  const contendedRounds = options.contendedRounds ?? 3
  const server = await startRedis()
  const coordinator = createRedisCoordinator({ url: server.url })
  const theirClient = new Redis(server.url)
  const admin = new Redis(server.url)
  const plain = new Redis(server.url)
  const onClient = createRedisCoordinator({ client: plain })
  try {
    await Promise.all([theirClient.ping(), admin.ping(), plain.ping()])
    const lease = { leaseMs: LEASE_MS }
    const edgeioLock: Acquire = async () => {
      const held = await new DistributedLock(coordinator, 'lock', lease).acquire()
      return () => held.release()
    }
    const theirMutex: Acquire = async () => {
      const mutex = new Mutex(theirClient, 'mutex', { lockTimeout: LEASE_MS })
      await mutex.acquire()
      return () => mutex.release()
    }
    const edgeioSemaphore: Acquire = async () => {
      const held = await new DistributedSemaphore(coordinator, 'pool', 3, lease).acquire()
      return () => held.release()
    }
    const theirSemaphore: Acquire = async () => {
      const semaphore = new Semaphore(theirClient, 'pool', 3, { lockTimeout: LEASE_MS })
      await semaphore.acquire()
      return () => semaphore.release()
    }
    const rows = [
      ...(await uncontended(
        'Lock / Mutex',
        [
          { name: 'edgeio DistributedLock', acquire: edgeioLock },
          { name: 'redis-semaphore Mutex', acquire: theirMutex },
          ...profile(onClient, plain),
        ],
        timing
      )),
      ...(await uncontended(
        'Semaphore(3)',
        [
          { name: 'edgeio DistributedSemaphore', acquire: edgeioSemaphore },
          { name: 'redis-semaphore Semaphore', acquire: theirSemaphore },
        ],
        timing
      )),
    ]
    for (const [label, ours, theirs] of [
      ['Lock / Mutex', edgeioLock, theirMutex],
      ['Semaphore(3)', edgeioSemaphore, theirSemaphore],
    ] as const) {
      const a = await roundTrips(admin, ours)
      const b = await roundTrips(admin, theirs)
      const row = (measure: string, x: number, y: number, detail?: string): RedisLockRow => ({
        measure: `${label}: ${measure}`,
        edgeio: x,
        redisSemaphore: y,
        ratio: x / y,
        ...(detail ? { detail } : {}),
      })
      rows.push(
        row(
          'round trips per acquire',
          a.acquire,
          b.acquire,
          `edgeio ${a.detail}\nredis-semaphore ${b.detail}`
        ),
        row('round trips per release', a.release, b.release),
        row('Redis time per acquire (median), µs', a.acquireUsec, b.acquireUsec),
        row('Redis time per release (median), µs', a.releaseUsec, b.releaseUsec),
        row('client CPU per cycle (mean), µs', a.clientUsec, b.clientUsec)
      )
    }

    const runs = { edgeio: [] as number[][], 'redis-semaphore': [] as number[][] }
    for (let round = 0; round < contendedRounds; round++) {
      const order =
        round % 2 === 0
          ? (['edgeio', 'redis-semaphore'] as const)
          : (['redis-semaphore', 'edgeio'] as const)
      for (const library of order) {
        const { turns, handOffs, exact } = await contendedRound(
          server.url,
          library,
          contendedMs,
          admin,
          round
        )
        if (!exact) throw new Error(`${library}: the counter lost updates under the lock`)
        runs[library].push([turns / (contendedMs / 1000), handOffs / (contendedMs / 1000)])
      }
    }
    for (const [index, what] of [
      [0, 'turns/s'],
      [1, 'hand-offs to another process/s'],
    ] as const) {
      const ours = median(runs.edgeio.map((r) => r[index] as number))
      const theirs = median(runs['redis-semaphore'].map((r) => r[index] as number))
      rows.push({
        measure: `Lock / Mutex, ${PROCESSES} processes contending: ${what}`,
        edgeio: ours,
        redisSemaphore: theirs,
        ratio: ours / theirs,
      })
    }
    return rows
  } finally {
    await coordinator.close()
    await onClient.close()
    plain.disconnect()
    theirClient.disconnect()
    admin.disconnect()
    await server.stop()
  }
}

const figure = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(3))

if (import.meta.main) {
  const rows = await runRedisLockBench()
  for (const row of rows) if (row.detail) console.log(`${row.measure}:\n${row.detail}\n`)
  console.table(
    rows.map((row) => ({
      measure: row.measure,
      edgeio: figure(row.edgeio),
      'redis-semaphore': figure(row.redisSemaphore),
      'edgeio / r-s': row.ratio.toFixed(2),
      target: row.target ?? '',
    }))
  )
}
