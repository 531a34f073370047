import { describe, expect, it } from 'vitest'
import { BoundedSemaphore, Semaphore } from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Semaphore', () => {
  it('counts permits', async () => {
    const sem = new Semaphore(2)
    expect(sem.value).toBe(2)
    await sem.acquire()
    await sem.acquire()
    expect(sem.value).toBe(0)
    expect(sem.locked).toBe(true)
    sem.release()
    expect(sem.value).toBe(1)
    expect(sem.locked).toBe(false)
  })

  it('rejects invalid start values', () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError)
    expect(() => new Semaphore(1.5)).toThrow(RangeError)
    expect(new Semaphore(0).locked).toBe(true)
  })

  it('wakes as many waiters as permits released, in the same tick, FIFO', async () => {
    const sem = new Semaphore(0)
    const woken: number[] = []
    const ps = Array.from({ length: 5 }, (_, i) => sem.acquire().then(() => woken.push(i)))
    sem.release()
    sem.release()
    sem.release()
    expect(sem.waiting).toBe(2)
    await flush()
    expect(woken).toEqual([0, 1, 2])
    sem.release()
    sem.release()
    await Promise.all(ps)
    expect(woken).toEqual([0, 1, 2, 3, 4])
    expect(sem.value).toBe(0)
  })

  it('a newcomer never takes a permit handed to a waiter', async () => {
    const sem = new Semaphore(0)
    const order: string[] = []
    const w = sem.acquire().then(() => order.push('waiter'))
    sem.release()
    expect(sem.value).toBe(0)
    const n = track(sem.acquire().then(() => order.push('newcomer')))
    await w
    await flush()
    expect(order).toEqual(['waiter'])
    expect(n.state).toBe('pending')
    sem.release()
    await flush()
    expect(order).toEqual(['waiter', 'newcomer'])
  })

  it('already-aborted signal rejects even with permits free', async () => {
    const sem = new Semaphore(3)
    await expect(sem.acquire({ signal: AbortSignal.abort('x') })).rejects.toBe('x')
    expect(sem.value).toBe(3)
  })

  it('aborted waiter leaves; no listener left', async () => {
    const sem = new Semaphore(0)
    const { controller, listeners } = countingController()
    const a = track(sem.acquire({ signal: controller.signal }))
    const b = track(sem.acquire())
    controller.abort('gone')
    await flush()
    expect(a.state).toBe('rejected')
    expect(sem.waiting).toBe(1)
    expect(listeners()).toBe(0)
    sem.release()
    await flush()
    expect(b.state).toBe('fulfilled')
    expect(sem.value).toBe(0)
  })

  it('grant and abort in the same tick: the permit goes to the next waiter', async () => {
    const sem = new Semaphore(0)
    const c = new AbortController()
    const a = track(sem.acquire({ signal: c.signal }))
    const b = track(sem.acquire())
    sem.release()
    c.abort('late')
    await flush()
    expect(a.state).toBe('rejected')
    expect(b.state).toBe('fulfilled')
    expect(sem.value).toBe(0)
    sem.release()
    expect(sem.value).toBe(1)
  })

  it('run() bounds concurrency', async () => {
    const sem = new Semaphore(3)
    let inside = 0
    let max = 0
    await Promise.all(
      Array.from({ length: 30 }, () =>
        sem.run(async () => {
          inside++
          max = Math.max(max, inside)
          await flush(2)
          inside--
        })
      )
    )
    expect(max).toBe(3)
    expect(sem.value).toBe(3)
  })
})

describe('BoundedSemaphore', () => {
  it('throws when released above its start value', async () => {
    const sem = new BoundedSemaphore(2)
    expect(() => sem.release()).toThrow(/too many/)
    await sem.acquire()
    sem.release()
    expect(() => sem.release()).toThrow(RangeError)
    expect(sem.value).toBe(2)
  })

  it('feeds waiters normally', async () => {
    const sem = new BoundedSemaphore(1)
    await sem.acquire()
    const w = track(sem.acquire())
    sem.release()
    await flush()
    expect(w.state).toBe('fulfilled')
    sem.release()
    expect(sem.value).toBe(1)
  })
})
