import { describe, expect, it } from 'vitest'
import { Event } from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Event', () => {
  it('wait resolves at once when set', async () => {
    const e = new Event()
    e.set()
    expect(e.isSet()).toBe(true)
    await e.wait()
    e.clear()
    expect(e.isSet()).toBe(false)
  })

  it('set wakes every waiter, in order', async () => {
    const e = new Event()
    const order: number[] = []
    const all = [0, 1, 2].map((i) => e.wait().then(() => order.push(i)))
    await flush()
    expect(order).toEqual([])
    e.set()
    await Promise.all(all)
    expect(order).toEqual([0, 1, 2])
    expect(e.waiting).toBe(0)
  })

  it('waiters woken by set() resume even if clear() follows in the same tick', async () => {
    const e = new Event()
    const w = track(e.wait())
    e.set()
    e.clear()
    await flush()
    expect(w.state).toBe('fulfilled')
  })

  it('abort rejects with the reason and leaves nothing behind', async () => {
    const e = new Event()
    await expect(e.wait({ signal: AbortSignal.abort('now') })).rejects.toBe('now')
    e.set()
    await expect(e.wait({ signal: AbortSignal.abort('set-too') })).rejects.toBe('set-too')
    e.clear()
    const { controller, listeners } = countingController()
    const w = track(e.wait({ signal: controller.signal }))
    controller.abort('later')
    await flush()
    expect(w.reason).toBe('later')
    expect(e.waiting).toBe(0)
    expect(listeners()).toBe(0)
  })
})
