// DistributedLock, DistributedSemaphore and DistributedRateLimitStore against the in-process
// coordinator (createLocalCoordinator): the clients' long polls, renewals, retries and
// aborts, with real timers. The same clients run against the Durable Object in
// test/workerd/coordinator.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import type { CoordinatorNamespace, CoordinatorStub } from '../../src/distributed/protocol.ts'
import { resourceName } from '../../src/distributed/protocol.ts'
import {
  CoordinatorResetError,
  CoordinatorUnavailableError,
  createLocalCoordinator,
  DistributedLock,
  DistributedRateLimitStore,
  DistributedSemaphore,
  LeaseLostError,
  type LocalCoordinator,
  NotHeldError,
} from '../../src/index.ts'

let local: LocalCoordinator
afterEach(() => local?.close())

function coordinator(): LocalCoordinator {
  local = createLocalCoordinator()
  return local
}

/** Polls `check` until it holds (no fixed sleeps), failing after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const stubOf = (ns: CoordinatorNamespace, name: string) => ns.get(ns.idFromName(name))
const lockState = (ns: CoordinatorNamespace, name: string) =>
  stubOf(ns, resourceName('lock', name)).inspect(resourceName('lock', name))

/** Read, yield to the others, write: loses updates unless something serializes it. */
async function increment(values: CoordinatorStub, fence = 0): Promise<number> {
  const { value } = await values.read('n')
  await new Promise((resolve) => setTimeout(resolve, 0))
  const next = ((value as number | null) ?? 0) + 1
  const written = await values.write('n', next, fence)
  if (!written.written) throw new Error('fenced out')
  return next
}

describe('DistributedLock (local coordinator)', () => {
  it('keeps a counter exact under 200 concurrent read-modify-write increments', async () => {
    const ns = coordinator()
    const values = stubOf(ns, 'values')
    const lock = new DistributedLock(ns, 'counter')
    const tokens = await Promise.all(
      Array.from({ length: 200 }, () =>
        lock.run(async ({ token }) => {
          await increment(values, token)
          return token
        })
      )
    )
    expect((await values.read('n')).value).toBe(200)
    expect(new Set(tokens).size).toBe(200)
    expect((await lockState(ns, 'counter')).holders).toEqual([])

    // The control: the same increments without the lock lose updates.
    const unlocked = stubOf(ns, 'unlocked')
    await Promise.all(Array.from({ length: 200 }, () => increment(unlocked)))
    expect((await unlocked.read('n')).value).toBeLessThan(200)
  })

  it('grants in FIFO order, with strictly increasing fencing tokens', async () => {
    const ns = coordinator()
    const lock = new DistributedLock(ns, 'fifo')
    const first = await lock.acquire()
    const order: number[] = []
    const runs: Promise<number>[] = []
    for (let i = 0; i < 5; i++) {
      runs.push(
        lock.run(({ token }) => {
          order.push(i)
          return token
        })
      )
      // Each joins the line before the next one starts.
      await until(async () => (await lockState(ns, 'fifo')).waiters.length === i + 1)
    }
    await first.release()
    const tokens = await Promise.all(runs)
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect(tokens).toEqual([2, 3, 4, 5, 6])
    expect(first.token).toBe(1)
  })

  it('an abort removes the remote waiter; an abort racing the grant gives the lock back', async () => {
    const ns = coordinator()
    const lock = new DistributedLock(ns, 'abort')
    const holder = await lock.acquire()
    const controller = new AbortController()
    const waiting = lock.acquire({ signal: controller.signal })
    await until(async () => (await lockState(ns, 'abort')).waiters.length === 1)
    controller.abort(new Error('gave up'))
    await expect(waiting).rejects.toThrow('gave up')
    expect((await lockState(ns, 'abort')).waiters).toEqual([])

    // Granted by the release and aborted in the same tick: nothing is kept.
    const racing = new AbortController()
    const raced = lock.acquire({ signal: racing.signal })
    await until(async () => (await lockState(ns, 'abort')).waiters.length === 1)
    const released = holder.release()
    racing.abort(new Error('too late'))
    await released
    await expect(raced).rejects.toThrow('too late')
    expect(await lockState(ns, 'abort')).toMatchObject({ holders: [], waiters: [] })
    const next = await lock.acquire()
    expect(next.token).toBe(3) // 2 went to the aborted waiter and came back
    await next.release()
  })

  it('an already aborted signal rejects without a round trip', async () => {
    const ns = coordinator()
    const lock = new DistributedLock(ns, 'pre-aborted')
    await expect(lock.acquire({ signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no')
    expect((await lockState(ns, 'pre-aborted')).lastToken).toBe(0)
  })

  it('a holder that stops renewing loses the lock to the next waiter (alarm)', async () => {
    const ns = coordinator()
    const name = resourceName('lock', 'expiry')
    // A holder that crashed: acquired through the raw call, never renewed.
    const crashed = await stubOf(ns, name).acquire({
      name,
      id: 'crashed',
      permits: 1,
      leaseMs: 100,
      waitMs: 0,
    })
    expect(crashed).toMatchObject({ granted: true, token: 1 })
    // A long poll longer than the test: only the alarm can hand the lock over in time.
    const lock = new DistributedLock(ns, 'expiry', { pollMs: 30_000 })
    const started = Date.now()
    const lease = await lock.acquire()
    expect(lease.token).toBe(2)
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    expect(await stubOf(ns, name).renew({ name, id: 'crashed', leaseMs: 100 })).toEqual({
      held: false,
    })
    await lease.release()
  })

  it('renews while held, and signals a lost lease (run rejects with LeaseLostError)', async () => {
    const ns = coordinator()
    const lock = new DistributedLock(ns, 'renew', { leaseMs: 120, renewEveryMs: 30 })
    const lease = await lock.acquire()
    const firstExpiry = lease.expiresAt
    await until(async () => lease.expiresAt > firstExpiry + 100) // renewed several times
    expect((await lockState(ns, 'renew')).holders).toHaveLength(1)
    await lease.release()

    const run = lock.run(async ({ signal }) => {
      // The coordinator forgets the lease behind the holder's back (as an expiry would).
      const name = resourceName('lock', 'renew')
      const [holder] = (await stubOf(ns, name).inspect(name)).holders
      await stubOf(ns, name).release({ name, id: holder!.id })
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      return 'done'
    })
    await expect(run).rejects.toBeInstanceOf(LeaseLostError)
    expect(lock.held).toBe(0)
  })

  it('a restart mid-wait loses nothing: the waiter re-attaches to its place', async () => {
    const ns = coordinator()
    const name = resourceName('lock', 'restart')
    const lock = new DistributedLock(ns, 'restart')
    const holder = await lock.acquire()
    const waiters = [lock.acquire(), lock.acquire()]
    await until(async () => (await lockState(ns, 'restart')).waiters.length === 2)
    const before = await lockState(ns, 'restart')
    ns.restart(name)
    ns.restart(name)
    // The clients' calls broke and were made again: same waiters, same order, no duplicates.
    await until(async () => {
      const state = await lockState(ns, 'restart')
      return (
        JSON.stringify(state.waiters.map((w) => w.id)) ===
        JSON.stringify(before.waiters.map((w) => w.id))
      )
    })
    await holder.release()
    const second = await waiters[0]!
    expect(second.token).toBe(2)
    await second.release()
    const third = await waiters[1]!
    expect(third.token).toBe(3)
    await third.release()
  })

  it('gives up after `retries` transient failures, and passes other errors through', async () => {
    const reset: CoordinatorNamespace = {
      idFromName: (name) => name,
      get: () =>
        ({
          acquire: () => Promise.reject(new CoordinatorResetError('down')),
          release: () => Promise.reject(new CoordinatorResetError('down')),
        }) as unknown as CoordinatorStub,
    }
    const lock = new DistributedLock(reset, 'down', { retries: 2 })
    await expect(lock.acquire()).rejects.toBeInstanceOf(CoordinatorUnavailableError)
    const broken: CoordinatorNamespace = {
      idFromName: (name) => name,
      get: () =>
        ({
          acquire: () => Promise.reject(new TypeError('bug')),
          release: () => Promise.resolve('unknown'),
        }) as unknown as CoordinatorStub,
    }
    await expect(new DistributedLock(broken, 'bug').acquire()).rejects.toThrow(TypeError)
  })

  it('release() without a lease throws NotHeldError', async () => {
    const lock = new DistributedLock(coordinator(), 'none')
    await expect(lock.release()).rejects.toBeInstanceOf(NotHeldError)
    const lease = await lock.acquire()
    expect(lock.held).toBe(1)
    await lock.release()
    expect(lock.held).toBe(0)
    await lease.release() // idempotent
  })
})

describe('DistributedSemaphore (local coordinator)', () => {
  it('never lets more than `permits` in, and uses them all', async () => {
    const ns = coordinator()
    const sem = new DistributedSemaphore(ns, 'pool', 3)
    let inside = 0
    let most = 0
    await Promise.all(
      Array.from({ length: 30 }, () =>
        sem.run(async () => {
          inside++
          most = Math.max(most, inside)
          await new Promise((resolve) => setTimeout(resolve, 1))
          inside--
        })
      )
    )
    expect(most).toBe(3)
    expect(() => new DistributedSemaphore(ns, 'bad', 0)).toThrow(RangeError)
  })
})

describe('DistributedRateLimitStore (local coordinator)', () => {
  it('admits exactly `limit` of many concurrent requests, across store instances', async () => {
    const ns = coordinator()
    const rule = { algorithm: 'sliding-window', limit: 3, windowMs: 60_000 } as const
    const stores = [new DistributedRateLimitStore(ns), new DistributedRateLimitStore(ns)]
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stores[i % 2]!.consume('client-1', rule))
    )
    expect(results.filter((r) => r.allowed)).toHaveLength(3)
    expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true)
    expect((await stores[0]!.consume('client-2', rule)).allowed).toBe(true)
  })

  it('forgets a key once its quota is spent (the alarm empties its object)', async () => {
    const ns = coordinator()
    const store = new DistributedRateLimitStore(ns)
    const rule = { algorithm: 'sliding-window', limit: 1, windowMs: 30 } as const
    expect((await store.consume('brief', rule)).allowed).toBe(true)
    expect((await store.consume('brief', rule)).allowed).toBe(false)
    expect(ns.size).toBe(1)
    await until(async () => ns.size === 0)
    expect((await store.consume('brief', rule)).allowed).toBe(true)
  })
})
