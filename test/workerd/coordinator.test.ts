// DistributedLock, DistributedSemaphore and DistributedRateLimitStore against the real
// EdgeioCoordinator Durable Object (adapters/workers/coordinator.ts) in workerd, through the
// COORDINATOR binding of the root wrangler.toml. The tests talk to the object's stub
// directly: that is real RPC I/O, and the waits happen inside the object, which is what is
// under test (the plugin's exports.default.fetch cancels a request that waits on another).
import { describe, expect, it } from 'vitest'
import { DistributedLock } from '../../src/distributed/lock.ts'
import { resourceName } from '../../src/distributed/protocol.ts'
import { DistributedRateLimitStore } from '../../src/distributed/rate-limit-store.ts'
import { DistributedSemaphore } from '../../src/distributed/semaphore.ts'
import {
  COORDINATOR,
  increment,
  lockState,
  restart,
  stubOf,
  uniqueName,
  until,
} from './distributed/helpers.ts'

describe('EdgeioCoordinator (Durable Object)', () => {
  it('keeps a counter exact under 200 concurrent locked increments (and loses updates unlocked)', async () => {
    const name = uniqueName('counter')
    const values = stubOf(`values:${name}`)
    const lock = new DistributedLock(COORDINATOR, name)
    const tokens = await Promise.all(
      Array.from({ length: 200 }, () =>
        lock.run(async ({ token }) => {
          await increment(values, token)
          return token
        })
      )
    )
    expect((await values.read('n')).value).toBe(200)
    expect([...tokens].sort((a, b) => a - b)).toEqual(tokens.map((_, i) => i + 1))
    expect(await lockState(name)).toMatchObject({ holders: [], waiters: [] })

    const unlocked = stubOf(`values:${name}:unlocked`)
    await Promise.all(Array.from({ length: 200 }, () => increment(unlocked)))
    expect((await unlocked.read('n')).value).toBeLessThan(200)
  })

  it('grants in FIFO order', async () => {
    const name = uniqueName('fifo')
    const lock = new DistributedLock(COORDINATOR, name)
    const first = await lock.acquire()
    const order: number[] = []
    const runs: Promise<number>[] = []
    for (let i = 0; i < 8; i++) {
      runs.push(
        lock.run(({ token }) => {
          order.push(i)
          return token
        })
      )
      await until(async () => (await lockState(name)).waiters.length === i + 1)
    }
    await first.release()
    expect(await Promise.all(runs)).toEqual([2, 3, 4, 5, 6, 7, 8, 9])
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('hands an expired lease on to the next waiter at the alarm', async () => {
    const name = uniqueName('expiry')
    const object = resourceName('lock', name)
    // A holder that crashed: acquired with a raw call, never renewed.
    const crashed = await stubOf(object).acquire({
      name: object,
      id: 'crashed',
      permits: 1,
      leaseMs: 300,
      waitMs: 0,
    })
    expect(crashed).toMatchObject({ granted: true, token: 1 })
    // Its long poll outlasts the test: only the alarm can grant in time.
    const lock = new DistributedLock(COORDINATOR, name, { pollMs: 30_000 })
    const started = Date.now()
    const lease = await lock.acquire()
    expect(lease.token).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(await stubOf(object).renew({ name: object, id: 'crashed', leaseMs: 300 })).toEqual({
      held: false,
    })
    await lease.release()
  })

  it('an abort removes the remote waiter, and nothing is lost', async () => {
    const name = uniqueName('abort')
    const lock = new DistributedLock(COORDINATOR, name)
    const holder = await lock.acquire()
    const controller = new AbortController()
    const waiting = lock.acquire({ signal: controller.signal })
    await until(async () => (await lockState(name)).waiters.length === 1)
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    expect((await lockState(name)).waiters).toEqual([])
    await holder.release()
    const next = await lock.acquire()
    expect(next.token).toBe(2)
    await next.release()
    expect(await lockState(name)).toMatchObject({ holders: [], waiters: [] })
  })

  it('the object restarting mid-wait loses nothing: waiters re-attach, tokens go on', async () => {
    const name = uniqueName('restart')
    const lock = new DistributedLock(COORDINATOR, name)
    const holder = await lock.acquire()
    const waiters = [lock.acquire(), lock.acquire()]
    await until(async () => (await lockState(name)).waiters.length === 2)
    const before = (await lockState(name)).waiters.map((w) => w.id)
    // ctx.abort() inside the object: its in-memory state is gone, its storage kept; the
    // waiters' long polls break (durableObjectReset) and their clients call again.
    expect(await restart(name)).toBe(true)
    await until(async () => {
      const state = await lockState(name)
      return state.waiters.length === 2 && state.holders.length === 1
    })
    expect((await lockState(name)).waiters.map((w) => w.id)).toEqual(before)
    await holder.release()
    const second = await waiters[0]!
    expect(second.token).toBe(2)
    await second.release()
    const third = await waiters[1]!
    expect(third.token).toBe(3)
    await third.release()
    expect(await restart(name)).toBe(true)
    const fourth = await lock.acquire()
    expect(fourth.token).toBe(4)
    await fourth.release()
  })

  it('a semaphore never lets more than `permits` in', async () => {
    const sem = new DistributedSemaphore(COORDINATOR, uniqueName('pool'), 3)
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 30 }, () =>
        sem.run(async () => {
          inside++
          most = Math.max(most, inside)
          await new Promise((resolve) => setTimeout(resolve, 2))
          inside--
        })
      )
    )
    expect(most).toBe(3)
  })

  it('the rate-limit store admits exactly `limit` of concurrent requests, whichever stub', async () => {
    const key = uniqueName('client')
    const rule = { algorithm: 'sliding-window', limit: 3, windowMs: 60_000 } as const
    const stores = [
      new DistributedRateLimitStore(COORDINATOR),
      new DistributedRateLimitStore(COORDINATOR),
    ]
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => stores[i % 2]!.consume(key, rule))
    )
    expect(results.filter((r) => r.allowed)).toHaveLength(3)
    expect(results.map((r) => r.remaining).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2])
    expect(await restart(`rate-limit:${key}`, true)).toBe(true)
    expect((await stores[0]!.consume(key, rule)).allowed).toBe(false)
  })
})
