// DistributedLock, DistributedSemaphore and DistributedRateLimitStore on the Redis coordinator
// (src/distributed/redis/coordinator.ts), against a real redis-server started by this file:
// FIFO, permits, fencing, aborts, lease expiry without an alarm, wake-ups by message, several
// coordinators as several processes, and real faults (SIGKILL, restart, SIGSTOP).
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CoordinatorUnavailableError, LeaseLostError } from '../../../src/distributed/errors.ts'
import type { DistributedLease } from '../../../src/distributed/lease.ts'
import { DistributedLock } from '../../../src/distributed/lock.ts'
import { type CoordinatorNamespace, resourceName } from '../../../src/distributed/protocol.ts'
import { DistributedRateLimitStore } from '../../../src/distributed/rate-limit-store.ts'
import {
  createRedisCoordinator,
  objectKeys,
  type RedisCoordinator,
  type RedisCoordinatorOptions,
} from '../../../src/distributed/redis/coordinator.ts'
import { RedisUnavailableError } from '../../../src/distributed/redis/errors.ts'
import { DistributedSemaphore } from '../../../src/distributed/semaphore.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'

/** Coordinators and clients made by the running test, closed after it. */
const opened: (RedisCoordinator | Redis)[] = []
afterEach(async () => {
  for (const item of opened.splice(0)) {
    if (item instanceof Redis) item.disconnect()
    else await item.close()
  }
})

function coordinatorOn(server: RedisServer, tuning: Partial<RedisCoordinatorOptions> = {}) {
  const coordinator = createRedisCoordinator({ url: server.url, ...tuning })
  opened.push(coordinator)
  return coordinator
}

function clientOn(server: RedisServer): Redis {
  const client = new Redis(server.url)
  client.on('error', () => {})
  opened.push(client)
  return client
}

/** Polls `check` until it holds (no fixed sleeps), failing after `timeoutMs`. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs = 4_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

let unique = 0
/** A name no other test uses (they share one server). */
const fresh = (what: string) => `${what}-${++unique}`

/** Scripts Redis has run so far (EVAL and EVALSHA), from any client. */
async function scriptCalls(watcher: Redis): Promise<number> {
  const stats = await watcher.info('commandstats')
  const counts = [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)]
  return counts.reduce((sum, match) => sum + Number(match[1]), 0)
}

/** Connections subscribed to the wake channel of lock `name`. */
async function subscribers(watcher: Redis, name: string): Promise<number> {
  const channel = objectKeys('edgeio', resourceName('lock', name)).channel
  const reply = (await watcher.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number]
  return reply[1]
}

const stubOf = (ns: CoordinatorNamespace, name: string) => ns.get(ns.idFromName(name))
const lockState = (ns: CoordinatorNamespace, name: string) =>
  stubOf(ns, resourceName('lock', name)).inspect(resourceName('lock', name))

describe('Redis coordinator', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(() => server?.stop())

  it('grants 10 waiters in FIFO order across coordinators, tokens strictly rising', async () => {
    const name = fresh('fifo')
    const [a, b] = [coordinatorOn(server), coordinatorOn(server)]
    const first = await new DistributedLock(a, name).acquire()
    expect(first.token).toBe(1)
    const order: number[] = []
    const runs: Promise<number>[] = []
    for (let i = 0; i < 10; i++) {
      const lock = new DistributedLock(i % 2 ? a : b, name)
      runs.push(
        lock.run(({ token }) => {
          order.push(i)
          return token
        })
      )
      // Each joins the line before the next one starts.
      await until(async () => (await lockState(a, name)).waiters.length === i + 1)
    }
    await first.release()
    const tokens = await Promise.all(runs)
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(tokens).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(await lockState(b, name)).toMatchObject({ lastToken: 11, holders: [], waiters: [] })
  })

  it('a DistributedSemaphore(…, 3) never has more than 3 holders under 50 concurrent runs', async () => {
    const name = fresh('pool')
    const coordinators = [0, 1, 2, 3].map(() => coordinatorOn(server))
    let inside = 0
    let most = 0
    const tokens: number[] = []
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        new DistributedSemaphore(coordinators[i % 4]!, name, 3).run(async ({ token }) => {
          inside++
          most = Math.max(most, inside)
          tokens.push(token)
          await new Promise((resolve) => setTimeout(resolve, 2))
          inside--
        })
      )
    )
    expect(most).toBe(3)
    expect(tokens).toHaveLength(50)
    expect(new Set(tokens).size).toBe(50)
    const state = await stubOf(coordinators[0]!, resourceName('semaphore', name)).inspect(
      resourceName('semaphore', name)
    )
    expect(state).toMatchObject({ permits: 3, lastToken: 50, holders: [], waiters: [] })
  })

  it('an abort removes the waiter; a grant racing the abort is given back', async () => {
    const ns = coordinatorOn(server)
    const name = fresh('abort')
    const lock = new DistributedLock(ns, name)
    const holder = await lock.acquire()
    const controller = new AbortController()
    const waiting = lock.acquire({ signal: controller.signal })
    await until(async () => (await lockState(ns, name)).waiters.length === 1)
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    expect((await lockState(ns, name)).waiters).toEqual([])

    // The release reaches Redis before the abort's cancel (one connection, in order): the
    // waiter is granted token 2, then gives it back.
    const racing = new AbortController()
    const raced = lock.acquire({ signal: racing.signal })
    await until(async () => (await lockState(ns, name)).waiters.length === 1)
    const released = holder.release()
    racing.abort(new Error('too late'))
    await released
    await expect(raced).rejects.toThrow('too late')
    expect(await lockState(ns, name)).toMatchObject({ holders: [], waiters: [] })
    const next = await lock.acquire()
    expect(next.token).toBe(3) // 2 went to the aborted waiter and came back
    await next.release()
  })

  it('an abort right after a join Redis must reload (NOSCRIPT) leaves no waiter behind', async () => {
    const ns = coordinatorOn(server)
    const name = fresh('noscript')
    const lock = new DistributedLock(ns, name)
    const holder = await lock.acquire()
    // Redis forgets the scripts; the release script alone is loaded again.
    await clientOn(server).script('FLUSH')
    await stubOf(ns, resourceName('lock', name)).release({ name: 'other', id: 'x' })
    const controller = new AbortController()
    const waiting = lock.acquire({ signal: controller.signal })
    // The cancel is sent before the join's NOSCRIPT comes back and the join is sent again.
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    expect(await lockState(ns, name)).toMatchObject({ waiters: [] })
    await holder.release()
  })

  it('wakes a waiter by message on release, with no calls while it waits', async () => {
    const ns = coordinatorOn(server)
    const name = fresh('wake')
    // Lease and long poll far beyond the test's timeout: only the message can wake it.
    const lock = new DistributedLock(ns, name, { leaseMs: 60_000, pollMs: 30_000 })
    const holder = await lock.acquire()
    const waiting = lock.acquire()
    await until(async () => (await lockState(ns, name)).waiters.length === 1)
    const watcher = clientOn(server)
    // Subscribed, and its one look after subscribing done (the count stays put).
    await until(async () => (await subscribers(watcher, name)) === 1)
    let before = -1
    await until(async () => {
      const previous = before
      before = await scriptCalls(watcher)
      if (before === previous) return true
      await new Promise((resolve) => setTimeout(resolve, 50)) // a quiet 50 ms, then compare
      return false
    })
    // A measuring window, not a synchronisation: a busy-polling waiter would call meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await scriptCalls(watcher)).toBe(before)
    const released = performance.now()
    await holder.release()
    const lease = await waiting
    expect(lease.token).toBe(2)
    expect(performance.now() - released).toBeLessThan(1_000)
    await lease.release()
  }, 5_000)

  it('does not lose a grant made before the waiter’s subscription was confirmed', async () => {
    // The subscriber connection's SSUBSCRIBE to the lock's channel is held back until the
    // grant has been published.
    const name = fresh('unheard')
    const client = clientOn(server)
    const gate = Promise.withResolvers<void>()
    const duplicate = client.duplicate.bind(client)
    client.duplicate = ((override) => {
      const subscriber = duplicate(override)
      const ssubscribe = subscriber.ssubscribe.bind(subscriber)
      subscriber.ssubscribe = (async (...channels: string[]) => {
        if (channels.some((channel) => channel.includes(name))) await gate.promise
        return ssubscribe(...channels)
      }) as typeof subscriber.ssubscribe
      return subscriber
    }) as typeof client.duplicate
    const ns = createRedisCoordinator({ client })
    opened.push(ns)
    // The subscriber connection is up before: only the re-check can find the grant.
    const other = new DistributedLock(ns, fresh('warm-up'))
    const first = await other.acquire()
    const second = other.acquire()
    await until(async () => (await lockState(ns, other.name)).waiters.length === 1)
    await first.release()
    await (await second).release()

    const lock = new DistributedLock(ns, name, { leaseMs: 60_000, pollMs: 30_000 })
    const holder = await lock.acquire()
    const waiting = lock.acquire()
    await until(async () => (await lockState(ns, name)).waiters.length === 1)
    await holder.release() // granted and published while nobody listens
    gate.resolve()
    expect((await waiting).token).toBe(2)
  }, 5_000)

  it('a grant published while the subscriber reconnects is found once it is back', async () => {
    const name = fresh('reconnect')
    const client = clientOn(server)
    let subscriber: Redis | undefined
    const duplicate = client.duplicate.bind(client)
    client.duplicate = ((override) => {
      subscriber = duplicate(override)
      return subscriber
    }) as typeof client.duplicate
    const ns = createRedisCoordinator({ client })
    opened.push(ns)
    const lock = new DistributedLock(ns, name, { leaseMs: 60_000, pollMs: 30_000 })
    const holder = await lock.acquire()
    const waiting = lock.acquire()
    await until(async () => (await subscribers(client, name)) === 1)
    // Its reconnection is held back until the grant has been published to nobody.
    const gate = Promise.withResolvers<void>()
    const connection = subscriber!
    const connect = connection.connect.bind(connection)
    connection.connect = async () => {
      await gate.promise
      return connect()
    }
    const before = await scriptCalls(client)
    await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    // Dropped: the waiter looked once (still waiting), then the grant is made.
    await until(async () => (await scriptCalls(client)) > before)
    expect(await subscribers(client, name)).toBe(0)
    await holder.release()
    gate.resolve()
    expect((await waiting).token).toBe(2)
  }, 5_000)

  it('passes an expired lease on without an alarm: the waiter looks again at the expiry', async () => {
    const ns = coordinatorOn(server)
    const name = resourceName('lock', fresh('expiry'))
    const crashed = await stubOf(ns, name).acquire({
      name,
      id: 'crashed',
      permits: 1,
      leaseMs: 200,
      waitMs: 0,
    })
    expect(crashed).toMatchObject({ granted: true, token: 1 })
    const lock = new DistributedLock(ns, name.slice('lock:'.length), { pollMs: 30_000 })
    const started = Date.now()
    const lease = await lock.acquire()
    expect(lease.token).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(await stubOf(ns, name).renew({ name, id: 'crashed', leaseMs: 200 })).toEqual({
      held: false,
    })
    await lease.release()
  }, 5_000)

  it("a lease that expires in Redis aborts its holder's signal (LeaseLostError) and passes on", async () => {
    // Redis's clock jumps ahead of the holder's renewals through the test-only clock.
    const clock = { skew: 0 }
    const now = () => Date.now() + clock.skew
    const [a, b] = [coordinatorOn(server, { now }), coordinatorOn(server, { now })]
    const name = fresh('lost')
    const options = { leaseMs: 1_000, renewEveryMs: 50, pollMs: 30_000 }
    let lease: DistributedLease | undefined
    const run = new DistributedLock(a, name, options).run(async (held) => {
      lease = held
      await new Promise((resolve) => held.signal.addEventListener('abort', resolve))
      return 'done'
    })
    await until(() => lease !== undefined)
    const next = new DistributedLock(b, name, options).acquire()
    await until(async () => (await lockState(b, name)).waiters.length === 1)
    clock.skew += 5_000
    await expect(run).rejects.toBeInstanceOf(LeaseLostError)
    expect(lease?.signal.reason).toBeInstanceOf(LeaseLostError)
    const successor = await next
    expect(successor.token).toBe(2)
    await successor.release()
  })

  it('keeps fenced values: a write with a lower fence is refused', async () => {
    const values = stubOf(coordinatorOn(server), fresh('values'))
    expect(await values.read('k')).toEqual({ value: null, fence: 0 })
    expect(await values.write('k', { n: 1, list: ['a', null] }, 5)).toEqual({
      written: true,
      fence: 5,
    })
    expect(await values.write('k', 2, 4)).toEqual({ written: false, fence: 5 })
    expect(await values.read('k')).toEqual({ value: { n: 1, list: ['a', null] }, fence: 5 })
    expect(await values.write('k', 3, 5)).toEqual({ written: true, fence: 5 })
    expect(await values.write('k', 4)).toEqual({ written: false, fence: 5 })
    expect(await values.read('k')).toEqual({ value: 3, fence: 5 })
  })

  it('200 read-modify-writes under one lock from 4 "processes" are exact; unlocked are not', async () => {
    const name = fresh('counter')
    const processes = [0, 1, 2, 3].map(() => ({
      coordinator: coordinatorOn(server),
      redis: clientOn(server),
    }))
    /** Plain GET, yield, plain SET: loses updates unless something serialises it. */
    const increment = async (redis: Redis, key: string) => {
      const value = Number((await redis.get(key)) ?? 0)
      await new Promise((resolve) => setTimeout(resolve, 0))
      await redis.set(key, String(value + 1))
    }
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const { coordinator, redis } = processes[i % 4]!
        return new DistributedLock(coordinator, name).run(async ({ token }) => {
          await increment(redis, `${name}:locked`)
          return token
        })
      })
    )
    expect(await processes[0]!.redis.get(`${name}:locked`)).toBe('200')
    expect(new Set(tokens).size).toBe(200)

    // The control: the same increments without the lock lose updates.
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => increment(processes[i % 4]!.redis, `${name}:free`))
    )
    expect(Number(await processes[0]!.redis.get(`${name}:free`))).toBeLessThan(200)
  })

  it('one rate limit shared by 3 coordinators allows exactly its quota', async () => {
    const rule = { algorithm: 'sliding-window', limit: 5, windowMs: 60_000 } as const
    const stores = [0, 1, 2].map(() => new DistributedRateLimitStore(coordinatorOn(server)))
    const key = fresh('client')
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 3]!.consume(key, rule))
    )
    expect(results.filter((r) => r.allowed)).toHaveLength(5)
    expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true)
  })

  it("keeps an object's keys under one hash tag, and works through a caller's client", async () => {
    const client = clientOn(server)
    const ns = createRedisCoordinator({ client, prefix: 'app' })
    const object = `lock:${fresh('tagged')}`
    const stub = stubOf(ns, object)
    const lease = await new DistributedLock(ns, object.slice('lock:'.length)).acquire()
    await stub.write('v', 1, lease.token)
    await stub.consume('q', { algorithm: 'token-bucket', capacity: 2, refillPerSecond: 1 })
    const keys = objectKeys('app', object)
    expect((await client.keys(`app:{${object}}:*`)).sort()).toEqual(
      [keys.quota('q'), keys.resource(object), keys.value('v')].sort()
    )
    await lease.release()
    await ns.close()
    // The caller's client stays open; calls on a closed coordinator fail, not retried.
    expect(await client.ping()).toBe('PONG')
    await expect(stub.inspect(object)).rejects.toThrow('closed')
    expect(objectKeys('p', '').channel).toBe('p:{%}:wake')
    expect(objectKeys('p', 'a}b%').channel).toBe('p:{a%7Db%25}:wake')
  })

  it('refuses malformed requests before sending anything', async () => {
    const stub = stubOf(coordinatorOn(server), fresh('bad'))
    const base = { name: 'r', id: 'a', permits: 1, leaseMs: 1_000, waitMs: 0 }
    await expect(stub.acquire({ ...base, permits: 0 })).rejects.toThrow(RangeError)
    await expect(stub.acquire({ ...base, leaseMs: Number.POSITIVE_INFINITY })).rejects.toThrow(
      RangeError
    )
    await expect(stub.acquire({ ...base, waitMs: 120_000 })).rejects.toThrow(RangeError)
    await expect(stub.acquire({ ...base, id: '' })).rejects.toThrow(TypeError)
    await expect(stub.write('k', 1, Number.NaN)).rejects.toThrow(RangeError)
    expect(() => createRedisCoordinator({ url: server.url, prefix: '{x}' })).toThrow(RangeError)
  })
})

describe('Redis coordinator under faults', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(() => server?.stop())

  // Small leases, retries and timeouts keep each fault to a second or two.
  const fast = { leaseMs: 600, renewEveryMs: 150, pollMs: 30_000, retries: 2 }

  it('killed: the holder learns within about the lease, waiters fail; restarted: works again', async () => {
    const ns = coordinatorOn(server, { timeoutMs: 200 })
    const name = fresh('killed')
    const lock = new DistributedLock(ns, name, fast)
    const holder = await lock.acquire()
    const waiting = lock.acquire()
    waiting.catch(() => {})
    await until(async () => (await lockState(ns, name)).waiters.length === 1)
    const lost = new Promise<number>((resolve) =>
      holder.signal.addEventListener('abort', () => resolve(Date.now()))
    )
    const killedAt = Date.now()
    await server.kill()
    await expect(waiting).rejects.toBeInstanceOf(CoordinatorUnavailableError)
    const error = await waiting.catch((e: unknown) => e)
    expect((error as Error).cause).toBeInstanceOf(RedisUnavailableError)
    expect((await lost) - killedAt).toBeLessThan(fast.leaseMs + 1_000)
    expect(holder.signal.reason).toBeInstanceOf(LeaseLostError)
    await expect(new DistributedLock(ns, fresh('down'), fast).acquire()).rejects.toBeInstanceOf(
      CoordinatorUnavailableError
    )

    await server.restart() // empty (not persistent), scripts forgotten: reloaded on NOSCRIPT
    await until(async () => {
      const lease = await new DistributedLock(ns, name, fast).acquire().catch(() => undefined)
      await lease?.release()
      return lease !== undefined
    })
    const again = await new DistributedLock(ns, fresh('after'), fast).acquire()
    expect(again.token).toBe(1)
    await again.release()
  })

  it('paused past a lease: the lease passes on and the paused holder’s fenced write is refused', async () => {
    const [a, b] = [coordinatorOn(server, { timeoutMs: 200 }), coordinatorOn(server)]
    const name = fresh('paused')
    const holder = await new DistributedLock(a, name, fast).acquire()
    const next = new DistributedLock(b, name, { ...fast, retries: 8 }).acquire()
    await until(async () => (await lockState(b, name)).waiters.length === 1)
    server.pause()
    try {
      // The holder cannot renew: its signal aborts once its lease is over (by its clock).
      await new Promise((resolve) => holder.signal.addEventListener('abort', resolve))
    } finally {
      server.resume()
    }
    expect(holder.signal.reason).toBeInstanceOf(LeaseLostError)
    const successor = await next
    expect(successor.token).toBe(holder.token + 1)
    const values = stubOf(b, fresh('store'))
    expect(await values.write('balance', 'successor', successor.token)).toMatchObject({
      written: true,
    })
    // The paused holder comes back and writes as if it still held the lock.
    expect(await values.write('balance', 'stale', holder.token)).toEqual({
      written: false,
      fence: successor.token,
    })
    expect((await values.read('balance')).value).toBe('successor')
    await successor.release()
  })
})

describe('Redis coordinator with persistence', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis({ persistent: true })
  })
  afterAll(() => server?.stop())

  it('tokens keep rising across a Redis restart (append-only file)', async () => {
    const ns = coordinatorOn(server)
    const name = fresh('durable')
    const lock = new DistributedLock(ns, name, { retries: 8 })
    for (let i = 1; i <= 3; i++) {
      const lease = await lock.acquire()
      expect(lease.token).toBe(i)
      await lease.release()
    }
    await server.restart()
    // The same coordinator reconnects by itself; lease.ts retries meanwhile.
    const lease = await lock.acquire()
    expect(lease.token).toBe(4)
    await lease.release()
  })
})
