import { describe, expect, it } from 'vitest'
import { Lock } from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Lock', () => {
  it('acquires when free and throws when released unlocked', async () => {
    const lock = new Lock()
    expect(lock.locked).toBe(false)
    await lock.acquire()
    expect(lock.locked).toBe(true)
    lock.release()
    expect(lock.locked).toBe(false)
    expect(() => lock.release()).toThrow(/not acquired/)
  })

  it('grants waiters in FIFO order', async () => {
    const lock = new Lock()
    await lock.acquire()
    const order: number[] = []
    const all = [0, 1, 2, 3, 4].map((i) => lock.acquire().then(() => order.push(i)))
    for (let i = 0; i < 5; i++) {
      lock.release()
      await flush()
    }
    await Promise.all(all)
    expect(order).toEqual([0, 1, 2, 3, 4])
    lock.release()
    expect(lock.locked).toBe(false)
  })

  it('hands over on release: a newcomer never overtakes the woken waiter', async () => {
    const lock = new Lock()
    await lock.acquire()
    const order: string[] = []
    const first = lock.acquire().then(() => order.push('waiter'))
    lock.release()
    // Same tick: the lock already belongs to the woken waiter.
    expect(lock.locked).toBe(true)
    const late = lock.acquire().then(() => order.push('newcomer'))
    await first
    expect(order).toEqual(['waiter'])
    lock.release()
    await late
    expect(order).toEqual(['waiter', 'newcomer'])
  })

  it('rejects at once with signal.reason when already aborted, even if free', async () => {
    const lock = new Lock()
    const reason = new Error('stop')
    await expect(lock.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(lock.locked).toBe(false)
  })

  it('abort while waiting rejects with the reason and leaves no waiter nor listener', async () => {
    const lock = new Lock()
    await lock.acquire()
    const { controller, listeners } = countingController()
    const p = track(lock.acquire({ signal: controller.signal }))
    expect(lock.waiting).toBe(1)
    expect(listeners()).toBe(1)
    controller.abort('bye')
    await flush()
    expect(p.state).toBe('rejected')
    expect(p.reason).toBe('bye')
    expect(lock.waiting).toBe(0)
    expect(listeners()).toBe(0)
    lock.release()
    expect(lock.locked).toBe(false)
  })

  it('removes the abort listener when the waiter is granted', async () => {
    const lock = new Lock()
    await lock.acquire()
    const { controller, listeners } = countingController()
    const p = lock.acquire({ signal: controller.signal })
    lock.release()
    await p
    expect(listeners()).toBe(0)
  })

  it('grant and abort in the same tick: the waiter rejects and the lock is passed on', async () => {
    const lock = new Lock()
    await lock.acquire()
    const c = new AbortController()
    const a = track(lock.acquire({ signal: c.signal }))
    const b = track(lock.acquire())
    lock.release() // hands the lock to a...
    c.abort('late') // ...which is aborted before it could resume
    await flush()
    expect(a.state).toBe('rejected')
    expect(a.reason).toBe('late')
    expect(b.state).toBe('fulfilled')
    lock.release()
    expect(lock.locked).toBe(false)
  })

  it('grant and abort in the same tick with nobody behind: the lock ends up free', async () => {
    const lock = new Lock()
    await lock.acquire()
    const c = new AbortController()
    const a = track(lock.acquire({ signal: c.signal }))
    lock.release()
    c.abort()
    await flush()
    expect(a.state).toBe('rejected')
    expect(lock.locked).toBe(false)
  })

  it('run() releases after success and after failure', async () => {
    const lock = new Lock()
    expect(await lock.run(() => 42)).toBe(42)
    expect(lock.locked).toBe(false)
    await expect(
      lock.run(async () => {
        throw new Error('boom')
      })
    ).rejects.toThrow('boom')
    expect(lock.locked).toBe(false)
  })

  it('run() keeps exclusion among many tasks', async () => {
    const lock = new Lock()
    let inside = 0
    let max = 0
    await Promise.all(
      Array.from({ length: 50 }, () =>
        lock.run(async () => {
          inside++
          max = Math.max(max, inside)
          await flush(3)
          inside--
        })
      )
    )
    expect(max).toBe(1)
  })

  it('keeps FIFO order across many aborts in the middle of the queue (compaction)', async () => {
    const lock = new Lock()
    await lock.acquire()
    const order: number[] = []
    const controllers: AbortController[] = []
    const waits: Promise<unknown>[] = []
    for (let i = 0; i < 200; i++) {
      const c = new AbortController()
      controllers.push(c)
      // Every third waiter has no signal at all (the bare fast-path entry).
      const opts = i % 3 === 0 ? undefined : { signal: c.signal }
      waits.push(
        lock.acquire(opts).then(
          () => order.push(i),
          () => {}
        )
      )
    }
    for (let i = 0; i < 200; i++) if (i % 3 !== 0 && i % 2 === 1) controllers[i]?.abort()
    await flush()
    const kept = Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 3 === 0 || i % 2 === 0)
    expect(lock.waiting).toBe(kept.length)
    // Release until nobody is left (each release hands the lock to the next waiter).
    for (let n = 0; lock.locked; n++) {
      lock.release()
      await flush()
      // Abort more while draining: tombstones ahead of and behind the head.
      if (n === 10) for (let i = 150; i < 200; i++) if (i % 3 !== 0) controllers[i]?.abort()
    }
    await Promise.all(waits)
    const expected = kept.filter((i) => i < 150 || i % 3 === 0)
    expect(order).toEqual(expected)
    expect(lock.waiting).toBe(0)
  })
})
