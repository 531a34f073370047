import { describe, expect, it } from 'vitest'
import { Condition, Lock } from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Condition', () => {
  it('wait and notify need the lock', async () => {
    const cond = new Condition()
    await expect(cond.wait()).rejects.toThrow(/un-acquired/)
    expect(() => cond.notify()).toThrow(/un-acquired/)
    expect(() => cond.notifyAll()).toThrow(/un-acquired/)
  })

  it('shares a given lock', async () => {
    const lock = new Lock()
    const cond = new Condition(lock)
    await lock.acquire()
    expect(cond.locked).toBe(true)
    cond.release()
    expect(lock.locked).toBe(false)
  })

  it('notify(n) wakes n waiters FIFO; each returns holding the lock', async () => {
    const cond = new Condition()
    const woke: number[] = []
    const waiters = [0, 1, 2].map(async (i) => {
      await cond.acquire()
      await cond.wait()
      expect(cond.locked).toBe(true)
      woke.push(i)
      cond.release()
    })
    await flush()
    expect(cond.waiting).toBe(3)
    await cond.acquire()
    cond.notify(2)
    cond.release()
    await flush()
    expect(woke).toEqual([0, 1])
    await cond.acquire()
    cond.notifyAll()
    cond.release()
    await Promise.all(waiters)
    expect(woke).toEqual([0, 1, 2])
  })

  it('waitFor returns the truthy value of the predicate', async () => {
    const cond = new Condition()
    let value: string | undefined
    const got = cond.run(() => cond.waitFor(() => value))
    await flush()
    await cond.run(() => {
      value = 'ready'
      cond.notify()
    })
    expect(await got).toBe('ready')
  })

  it('an aborted wait re-acquires the lock before it rejects', async () => {
    const cond = new Condition()
    const { controller, listeners } = countingController()
    await cond.acquire()
    const w = cond.wait({ signal: controller.signal }).then(
      () => 'resolved',
      (reason: unknown) => ({ reason, locked: cond.locked })
    )
    await flush()
    expect(cond.locked).toBe(false)
    // Someone else holds the lock when the abort lands: the waiter waits for it.
    await cond.acquire()
    controller.abort('cancel')
    await flush()
    const t = track(w)
    await flush()
    expect(t.state).toBe('pending')
    cond.release()
    expect(await w).toEqual({ reason: 'cancel', locked: true })
    expect(listeners()).toBe(0)
    cond.release()
  })

  it('a waiter notified then aborted in the same tick passes the notification on (no lost wakeup)', async () => {
    const cond = new Condition()
    const c = new AbortController()
    await cond.acquire()
    const a = track(cond.wait({ signal: c.signal }))
    await cond.acquire() // free again: a's wait() released it; b takes it and waits too
    const b = track(
      (async () => {
        await cond.wait()
        cond.release()
      })()
    )
    await flush()
    await cond.acquire()
    cond.notify(1) // meant for a
    c.abort('late')
    cond.release()
    await flush()
    expect(a.state).toBe('rejected')
    cond.release() // a re-acquired the lock before rejecting
    await flush()
    expect(b.state).toBe('fulfilled')
  })

  it('already-aborted signal rejects at once and keeps the lock held', async () => {
    const cond = new Condition()
    await cond.acquire()
    await expect(cond.wait({ signal: AbortSignal.abort('no') })).rejects.toBe('no')
    expect(cond.locked).toBe(true)
  })
})
