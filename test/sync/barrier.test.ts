import { describe, expect, it } from 'vitest'
import { Barrier, BrokenBarrierError } from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Barrier', () => {
  it('releases all parties together with distinct indexes in arrival order', async () => {
    const b = new Barrier(3)
    expect(b.parties).toBe(3)
    const first = track(b.wait())
    const second = track(b.wait())
    await flush()
    expect(b.nWaiting).toBe(2)
    expect(first.state).toBe('pending')
    const last = await b.wait()
    await flush()
    expect([first.value, second.value, last]).toEqual([0, 1, 2])
    expect(b.nWaiting).toBe(0)
  })

  it('is reusable round after round', async () => {
    const b = new Barrier(2)
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all([b.wait(), b.wait()])
      expect(got).toEqual([0, 1])
    }
  })

  it('parties = 1 never waits', async () => {
    expect(await new Barrier(1).wait()).toBe(0)
    expect(() => new Barrier(0)).toThrow(RangeError)
  })

  it('reset() breaks the waiters of the round, then works again', async () => {
    const b = new Barrier(3)
    const w = b.wait()
    b.reset()
    await expect(w).rejects.toBeInstanceOf(BrokenBarrierError)
    expect(b.broken).toBe(false)
    expect(await Promise.all([b.wait(), b.wait(), b.wait()])).toEqual([0, 1, 2])
  })

  it('abort() breaks it until reset()', async () => {
    const b = new Barrier(2)
    const w = b.wait()
    b.abort()
    expect(b.broken).toBe(true)
    await expect(w).rejects.toBeInstanceOf(BrokenBarrierError)
    await expect(b.wait()).rejects.toBeInstanceOf(BrokenBarrierError)
    b.reset()
    expect(await Promise.all([b.wait(), b.wait()])).toEqual([0, 1])
  })

  it('an aborted waiter leaves without breaking the barrier', async () => {
    const b = new Barrier(2)
    const { controller, listeners } = countingController()
    const gone = b.wait({ signal: controller.signal })
    controller.abort('leave')
    await expect(gone).rejects.toBe('leave')
    expect(b.nWaiting).toBe(0)
    expect(b.broken).toBe(false)
    expect(listeners()).toBe(0)
    expect(await Promise.all([b.wait(), b.wait()])).toEqual([0, 1])
    await expect(b.wait({ signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
  })
})
