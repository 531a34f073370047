/**
 * The Redis backend on a real three-master Redis Cluster (test/redis/cluster.ts): the
 * coordinator over an ioredis `Cluster` (locks on names whose slots live on different
 * masters, FIFO, fencing, a waiter woken by its shard's message, a semaphore, rate limits),
 * `consumeQuota`, `RedisKV` and `RedisJobQueue` with a hash-tagged prefix.
 */
import { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { defineJobConsumer, type JobInfo } from '../../../src/distributed/jobs/index.ts'
import { DistributedLock } from '../../../src/distributed/lock.ts'
import { type CoordinatorNamespace, resourceName } from '../../../src/distributed/protocol.ts'
import { DistributedRateLimitStore } from '../../../src/distributed/rate-limit-store.ts'
import {
  createRedisCoordinator,
  objectKeys,
  type RedisCoordinator,
} from '../../../src/distributed/redis/coordinator.ts'
import { RedisJobQueue } from '../../../src/distributed/redis/job-queue.ts'
import { RedisKV } from '../../../src/distributed/redis/kv.ts'
import { consumeQuota } from '../../../src/distributed/redis/quota.ts'
import { DistributedSemaphore } from '../../../src/distributed/semaphore.ts'
import { type RedisCluster, startRedisCluster } from '../../redis/cluster.ts'

let cluster: RedisCluster
/** Two clients and two coordinators: two processes sharing the Cluster. */
let clients: Cluster[] = []
let coordinators: RedisCoordinator[] = []
/** One plain connection per master, by port, to ask a node about itself. */
const direct = new Map<number, Redis>()

beforeAll(async () => {
  cluster = await startRedisCluster()
  clients = [0, 1].map(() => new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port }))))
  coordinators = clients.map((client) => createRedisCoordinator({ client }))
  for (const { host, port } of cluster.nodes) direct.set(port, new Redis(port, host))
})

afterAll(async () => {
  await Promise.all(coordinators.map((c) => c.close()))
  await Promise.all(clients.map((c) => c.quit().catch(() => {})))
  for (const node of direct.values()) node.disconnect()
  await cluster?.stop()
})

/** The port of the master owning `key`, from Redis itself (CLUSTER KEYSLOT, CLUSTER SLOTS). */
async function masterOf(key: string): Promise<number> {
  const any = direct.values().next().value as Redis
  const slot = (await any.cluster('KEYSLOT', key)) as number
  const ranges = await any.cluster('SLOTS')
  const range = ranges.find(([from, to]) => slot >= from && slot <= to)
  const master = range?.[2]
  if (!master) throw new Error(`no master owns slot ${slot}`)
  return master[1]
}

/** The wake channel of lock `name`: the shard channel its scripts publish to. */
const channelOf = (name: string) => objectKeys('edgeio', resourceName('lock', name)).channel

/** Polls `check` until it holds (no fixed sleeps), failing after `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const lockState = (ns: CoordinatorNamespace, name: string) =>
  ns.get(ns.idFromName(resourceName('lock', name))).inspect(resourceName('lock', name))

let unique = 0
/** One lock name per master: fresh names until every master owns one. */
async function namesOnEveryMaster(what: string): Promise<Map<number, string>> {
  const byMaster = new Map<number, string>()
  while (byMaster.size < cluster.nodes.length) {
    const name = `${what}-${++unique}`
    const master = await masterOf(objectKeys('edgeio', resourceName('lock', name)).resource(name))
    if (!byMaster.has(master)) byMaster.set(master, name)
  }
  return byMaster
}

describe('Redis coordinator on a Cluster', () => {
  test('locks on every master: mutual exclusion, FIFO, fencing tokens rising per name', async () => {
    const names = await namesOnEveryMaster('lock')
    // Really spread: three names, three masters, each the owner of its name's keys.
    expect(new Set(names.keys()).size).toBe(3)
    expect([...names.keys()].sort()).toEqual(cluster.nodes.map((n) => n.port).sort())
    await Promise.all(
      [...names.values()].map(async (name) => {
        const [a, b] = coordinators as [RedisCoordinator, RedisCoordinator]
        // FIFO across the two coordinators, tokens one above the other.
        const first = await new DistributedLock(a, name).acquire()
        expect(first.token).toBe(1)
        const order: number[] = []
        const runs: Promise<number>[] = []
        for (let i = 0; i < 5; i++) {
          runs.push(
            new DistributedLock(i % 2 ? a : b, name).run(({ token }) => {
              order.push(i)
              return token
            })
          )
          await until(async () => (await lockState(a, name)).waiters.length === i + 1)
        }
        await first.release()
        expect(await Promise.all(runs)).toEqual([2, 3, 4, 5, 6])
        expect(order).toEqual([0, 1, 2, 3, 4])
        // Mutual exclusion under 20 concurrent runs, tokens rising in the order of entry.
        let inside = 0
        let most = 0
        const entered: number[] = []
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            new DistributedLock(coordinators[i % 2]!, name).run(async ({ token }) => {
              most = Math.max(most, ++inside)
              entered.push(token)
              await new Promise((resolve) => setTimeout(resolve, 1))
              inside--
            })
          )
        )
        expect(most).toBe(1)
        expect(entered).toEqual(Array.from({ length: 20 }, (_, i) => 7 + i))
        expect(await lockState(b, name)).toMatchObject({ lastToken: 26, holders: [], waiters: [] })
      })
    )
  })

  test('a waiter on each master is woken by its shard’s message, not by a poll', async () => {
    const names = await namesOnEveryMaster('wake')
    const [a, b] = coordinators as [RedisCoordinator, RedisCoordinator]
    for (const [port, name] of names) {
      // Lease and long poll far beyond the test's timeout: only the message can wake it.
      const options = { leaseMs: 60_000, pollMs: 30_000 }
      const holder = await new DistributedLock(a, name, options).acquire()
      const waiting = new DistributedLock(b, name, options).acquire()
      await until(async () => (await lockState(a, name)).waiters.length === 1)
      // Subscribed on the master that owns the name (sharded pub/sub stays on its shard).
      const node = direct.get(port)!
      await until(async () => {
        const [, count] = (await node.call('PUBSUB', 'SHARDNUMSUB', channelOf(name))) as [
          string,
          number,
        ]
        return count === 1
      })
      const released = performance.now()
      await holder.release()
      const lease = await waiting
      expect(lease.token).toBe(2)
      // Generous: the poll would have taken 30 s.
      expect(performance.now() - released).toBeLessThan(5_000)
      await lease.release()
    }
  })

  test('a DistributedSemaphore(…, 3) never has more than 3 holders', async () => {
    const name = `pool-${++unique}`
    let inside = 0
    let most = 0
    const tokens: number[] = []
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        new DistributedSemaphore(coordinators[i % 2]!, name, 3).run(async ({ token }) => {
          most = Math.max(most, ++inside)
          tokens.push(token)
          await new Promise((resolve) => setTimeout(resolve, 2))
          inside--
        })
      )
    )
    expect(most).toBe(3)
    expect(new Set(tokens).size).toBe(30)
  })

  test('rate limits: the coordinator’s store and consumeQuota on keys of every master', async () => {
    const store = new DistributedRateLimitStore(coordinators[0]!)
    const rule = { algorithm: 'sliding-window', limit: 3, windowMs: 60_000 } as const
    const key = `client-${++unique}`
    const allowed: boolean[] = []
    for (let i = 0; i < 5; i++) allowed.push((await store.consume(key, rule)).allowed)
    expect(allowed).toEqual([true, true, true, false, false])
    // The other process counts the same quota.
    const other = new DistributedRateLimitStore(coordinators[1]!)
    expect((await other.consume(key, rule)).allowed).toBe(false)

    const masters = new Set<number>()
    for (let i = 0; masters.size < 3; i++) {
      const quota = `{quota-${unique}-${i}}`
      const port = await masterOf(quota)
      if (masters.has(port)) continue
      masters.add(port)
      const bucket = { algorithm: 'token-bucket', capacity: 2, refillPerSecond: 0.001 } as const
      const results = [0, 1, 2].map(() => consumeQuota(clients[0]!, quota, bucket))
      expect((await Promise.all(results)).map((r) => r.allowed)).toEqual([true, true, false])
      expect(await direct.get(port)!.exists(quota)).toBe(1) // stored on its own master
    }
  })
})

describe('RedisKV on a Cluster', () => {
  test('get / put with a TTL / delete, on keys of every master', async () => {
    const kv = new RedisKV(clients[0]!, { prefix: 'kv:' })
    const masters = new Set<number>()
    for (let i = 0; masters.size < 3; i++) {
      const key = `session-${i}`
      masters.add(await masterOf(`kv:${key}`))
      await kv.put(key, JSON.stringify({ i }), { expirationTtl: 60 })
      expect(await kv.get(key, 'json')).toEqual({ i })
      expect(await clients[1]!.ttl(`kv:${key}`)).toBeGreaterThan(50)
      await kv.delete(key)
      expect(await kv.get(key, 'json')).toBeNull()
    }
  })
})

describe('RedisJobQueue on a Cluster', () => {
  test('delivers jobs and retries a failed one, under the default hash-tagged prefix', async () => {
    const deliveries: [string, number][] = []
    const dead: string[] = []
    const jobs = defineJobConsumer<string>({
      maxRetries: 2,
      backoff: () => 0,
      handle(job, info: JobInfo) {
        deliveries.push([job, info.attempt])
        if (job === 'flaky' && info.attempt === 1) throw new Error('first time fails')
      },
      onDeadLetter: (job) => void dead.push(job),
    })
    const queue = new RedisJobQueue(jobs, { connection: { client: clients[0]! }, name: 'mail' })
    try {
      queue.start()
      await queue.sendBatch(['a', 'flaky', 'b'])
      await queue.send('c')
      await queue.idle()
      expect(deliveries.filter(([job]) => job !== 'flaky').map(([job, n]) => `${job}${n}`)).toEqual(
        ['a1', 'b1', 'c1']
      )
      expect(deliveries.filter(([job]) => job === 'flaky').map(([, n]) => n)).toEqual([1, 2])
      expect(dead).toEqual([])
      // Every key of the queue on the one master owning the tag.
      const owner = await masterOf('{edgeio:jobs}')
      const keys = await direct.get(owner)!.keys('{edgeio:jobs}:mail:*')
      expect(keys.length).toBeGreaterThan(0)
    } finally {
      await queue.close()
    }
    // The caller's Cluster stays open.
    expect(await clients[0]!.ping()).toBe('PONG')
  })

  test('a prefix without a hash tag is refused on a Cluster, with the fix in the message', () => {
    const jobs = defineJobConsumer<string>({ handle() {} })
    expect(
      () => new RedisJobQueue(jobs, { connection: { client: clients[0]! }, prefix: 'jobs' })
    ).toThrow(/hash tag.*"\{jobs\}"/)
    expect(
      () => new RedisJobQueue(jobs, { connection: { client: clients[0]! }, prefix: 'a{}b' })
    ).toThrow(RangeError)
  })
})
