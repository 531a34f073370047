// Unit tests of the coordinator's runtime-neutral logic (src/distributed/coordinator.ts) on
// in-memory storage with a hand-driven clock and hand-fired alarms.
import { describe, expect, it } from 'vitest'
import { Coordinator, REATTACH_GRACE_MS } from '../../src/distributed/coordinator.ts'
import { CoordinatorResetError } from '../../src/distributed/errors.ts'
import type { AcquireRequest } from '../../src/distributed/protocol.ts'
import { MemoryCoordinatorStorage } from '../../src/distributed/storage.ts'
import { MemoryStore } from '../../src/middleware/rate-limit/memory-store.ts'
import type { RateLimitRule } from '../../src/quota/index.ts'

function setup() {
  const clock = { now: 1_000_000 }
  const alarms: number[] = []
  const storage = new MemoryCoordinatorStorage({
    now: () => clock.now,
    setAlarm: (at) => alarms.push(at),
  })
  return { clock, alarms, storage, coordinator: new Coordinator(storage) }
}

const request = (id: string, extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
  name: 'r',
  id,
  permits: 1,
  leaseMs: 1_000,
  waitMs: 0,
  ...extra,
})

describe('Coordinator', () => {
  it('grants a free permit at once with token 1, queues the next, hands over on release', async () => {
    const { coordinator } = setup()
    expect(await coordinator.acquire(request('a'))).toMatchObject({ granted: true, token: 1 })
    expect(await coordinator.acquire(request('b'))).toEqual({ granted: false, position: 1 })
    expect(await coordinator.acquire(request('c'))).toEqual({ granted: false, position: 2 })
    expect(coordinator.release({ name: 'r', id: 'a' })).toBe('released')
    const state = coordinator.inspect('r')
    expect(state.holders.map((h) => [h.id, h.token])).toEqual([['b', 2]])
    expect(state.waiters.map((w) => w.id)).toEqual(['c'])
    expect(await coordinator.acquire(request('b'))).toMatchObject({ granted: true, token: 2 })
  })

  it('grants in FIFO order, up to `permits` at once', async () => {
    const { coordinator } = setup()
    const ids = ['a', 'b', 'c', 'd', 'e', 'f']
    for (const id of ids) await coordinator.acquire(request(id, { permits: 2 }))
    const order: string[] = []
    for (;;) {
      const { holders } = coordinator.inspect('r')
      expect(holders.length).toBeLessThanOrEqual(2)
      const first = holders[0]
      if (!first) break
      order.push(first.id)
      coordinator.release({ name: 'r', id: first.id })
    }
    expect(order).toEqual(ids)
  })

  it('a repeated acquire with the same id keeps its place and its grant', async () => {
    const { coordinator } = setup()
    await coordinator.acquire(request('a'))
    await coordinator.acquire(request('b'))
    await coordinator.acquire(request('c'))
    expect(await coordinator.acquire(request('b'))).toEqual({ granted: false, position: 1 })
    expect(await coordinator.acquire(request('a'))).toMatchObject({ granted: true, token: 1 })
    expect(coordinator.inspect('r').waiters.map((w) => w.id)).toEqual(['b', 'c'])
  })

  it('an expired holder lease passes the permit on at the alarm; its renewal then fails', async () => {
    const { coordinator, clock, alarms } = setup()
    await coordinator.acquire(request('a', { leaseMs: 500 }))
    await coordinator.acquire(request('b'))
    expect(alarms.at(-1)).toBe(clock.now + 500)
    clock.now += 499
    expect(coordinator.renew({ name: 'r', id: 'a', leaseMs: 500 })).toEqual({
      held: true,
      expiresAt: clock.now + 500,
    })
    clock.now += 500
    coordinator.alarm()
    expect(coordinator.inspect('r').holders.map((h) => [h.id, h.token])).toEqual([['b', 2]])
    expect(coordinator.renew({ name: 'r', id: 'a', leaseMs: 500 })).toEqual({ held: false })
    expect(coordinator.release({ name: 'r', id: 'a' })).toBe('unknown')
  })

  it('a call expires what it touches even if the alarm has not run', async () => {
    const { coordinator, clock } = setup()
    await coordinator.acquire(request('a', { leaseMs: 500 }))
    clock.now += 500
    expect(await coordinator.acquire(request('b'))).toMatchObject({ granted: true, token: 2 })
  })

  it('a waiter that stops calling leaves the line after 2 × waitMs + the grace', async () => {
    const { coordinator, clock } = setup()
    await coordinator.acquire(request('a', { leaseMs: 60_000 }))
    await coordinator.acquire(request('b'))
    await coordinator.acquire(request('c'))
    // b polls with waitMs 100 (answered at once here because we never wait), c never again.
    for (let t = 0; t < REATTACH_GRACE_MS; t += 1_000) {
      clock.now += 1_000
      await coordinator.acquire(request('b', { waitMs: 0 }))
    }
    coordinator.alarm()
    expect(coordinator.inspect('r').waiters.map((w) => w.id)).toEqual(['b'])
  })

  it('release removes a waiter from the line (cancel) and reports what it found', async () => {
    const { coordinator } = setup()
    await coordinator.acquire(request('a'))
    await coordinator.acquire(request('b'))
    await coordinator.acquire(request('c'))
    expect(coordinator.release({ name: 'r', id: 'b' })).toBe('cancelled')
    expect(coordinator.release({ name: 'r', id: 'nobody' })).toBe('unknown')
    coordinator.release({ name: 'r', id: 'a' })
    expect(coordinator.inspect('r').holders.map((h) => h.id)).toEqual(['c'])
  })

  it('a long poll returns as soon as its grant happens, or "still waiting" after waitMs', async () => {
    const { coordinator } = setup()
    await coordinator.acquire(request('a'))
    const started = performance.now()
    expect(await coordinator.acquire(request('b', { waitMs: 30 }))).toEqual({
      granted: false,
      position: 1,
    })
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
    const waiting = coordinator.acquire(request('b', { waitMs: 60_000 }))
    coordinator.release({ name: 'r', id: 'a' })
    expect(await waiting).toMatchObject({ granted: true, token: 2 })
  })

  it("a cancelled waiter's long poll returns at once, not granted", async () => {
    const { coordinator } = setup()
    await coordinator.acquire(request('a'))
    const waiting = coordinator.acquire(request('b', { waitMs: 60_000 }))
    coordinator.release({ name: 'r', id: 'b' })
    expect(await waiting).toEqual({ granted: false, position: 0 })
  })

  it('a restart fails the waiting calls and loses nothing: holders, line, token counter', async () => {
    const { coordinator, storage } = setup()
    await coordinator.acquire(request('a'))
    const waiting = coordinator.acquire(request('b', { waitMs: 60_000 }))
    coordinator.abandon(new CoordinatorResetError('restart'))
    await expect(waiting).rejects.toBeInstanceOf(CoordinatorResetError)
    const restarted = new Coordinator(storage)
    expect(await restarted.acquire(request('b'))).toEqual({ granted: false, position: 1 })
    restarted.release({ name: 'r', id: 'a' })
    expect(await restarted.acquire(request('b'))).toMatchObject({ granted: true, token: 2 })
    restarted.release({ name: 'r', id: 'b' })
    expect(await new Coordinator(storage).acquire(request('c'))).toMatchObject({ token: 3 })
  })

  it('sets the alarm only when the new deadline is earlier than the one set', async () => {
    const { coordinator, clock, alarms } = setup()
    const t0 = clock.now
    await coordinator.acquire(request('a', { name: 'x', leaseMs: 5_000 }))
    await coordinator.acquire(request('b', { name: 'y', leaseMs: 9_000 }))
    expect(alarms).toEqual([t0 + 5_000])
    await coordinator.acquire(request('c', { name: 'z', leaseMs: 1_000 }))
    expect(alarms).toEqual([t0 + 5_000, t0 + 1_000])
    clock.now = t0 + 1_000
    coordinator.alarm() // z expires; the next deadline is x's
    expect(alarms.at(-1)).toBe(t0 + 5_000)
    expect(coordinator.inspect('z').holders).toEqual([])
  })

  it('counts quotas exactly like MemoryStore, and the alarm drops spent ones', () => {
    const { coordinator, storage, clock } = setup()
    const memory = new MemoryStore({ now: () => clock.now })
    const rules: RateLimitRule[] = [
      { algorithm: 'sliding-window', limit: 3, windowMs: 1_000 },
      { algorithm: 'token-bucket', capacity: 2, refillPerSecond: 4 },
    ]
    for (const rule of rules) {
      for (let i = 0; i < 20; i++) {
        clock.now += (i * 37) % 200
        expect(coordinator.consume(rule.algorithm, rule)).toEqual(
          memory.consume(rule.algorithm, rule)
        )
      }
    }
    expect([...storage.list('quota:')].length).toBe(2)
    clock.now += 10_000
    coordinator.alarm()
    expect([...storage.list('quota:')].length).toBe(0)
  })

  it('keeps fenced values: a write with a lower fence is refused', () => {
    const { coordinator } = setup()
    expect(coordinator.read('k')).toEqual({ value: null, fence: 0 })
    expect(coordinator.write('k', 1, 5)).toEqual({ written: true, fence: 5 })
    expect(coordinator.write('k', 2, 4)).toEqual({ written: false, fence: 5 })
    expect(coordinator.write('k', 3, 5)).toEqual({ written: true, fence: 5 })
    expect(coordinator.read('k')).toEqual({ value: 3, fence: 5 })
  })

  it('rejects malformed requests', async () => {
    const { coordinator } = setup()
    await expect(coordinator.acquire(request('a', { permits: 0 }))).rejects.toThrow(RangeError)
    await expect(coordinator.acquire(request('a', { leaseMs: 0 }))).rejects.toThrow(RangeError)
    await expect(coordinator.acquire(request('a', { waitMs: 120_000 }))).rejects.toThrow(RangeError)
    await expect(coordinator.acquire(request(''))).rejects.toThrow(TypeError)
  })
})
