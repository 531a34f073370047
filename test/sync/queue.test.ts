import { describe, expect, it } from 'vitest'
import {
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
} from '../../src/sync/index.ts'
import { countingController, flush, track } from './helpers.ts'

describe('Queue', () => {
  it('is FIFO and reports its size', async () => {
    const q = new Queue<number>()
    expect(q.empty).toBe(true)
    expect(q.full).toBe(false)
    expect(q.maxsize).toBe(0)
    for (let i = 0; i < 40; i++) await q.put(i)
    expect(q.size).toBe(40)
    const got: number[] = []
    for (let i = 0; i < 40; i++) got.push(await q.get())
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  it('nowait variants throw QueueEmpty and QueueFull', () => {
    const q = new Queue<string>({ maxsize: 1 })
    expect(() => q.getNowait()).toThrow(QueueEmpty)
    q.putNowait('a')
    expect(q.full).toBe(true)
    expect(() => q.putNowait('b')).toThrow(QueueFull)
    expect(q.getNowait()).toBe('a')
  })

  it('get waits for put; getters are served FIFO', async () => {
    const q = new Queue<string>()
    const a = track(q.get())
    const b = track(q.get())
    q.putNowait('x')
    q.putNowait('y')
    await flush()
    expect([a.value, b.value]).toEqual(['x', 'y'])
  })

  it('put waits while full; putters are served FIFO; a newcomer cannot overtake', async () => {
    const q = new Queue<number>({ maxsize: 1 })
    await q.put(0)
    const p1 = track(q.put(1))
    const p2 = track(q.put(2))
    expect(q.getNowait()).toBe(0)
    // The freed slot already went to p1: the queue is full again and a newcomer waits.
    expect(q.full).toBe(true)
    expect(() => q.putNowait(9)).toThrow(QueueFull)
    await flush()
    expect(p1.state).toBe('fulfilled')
    expect(p2.state).toBe('pending')
    expect(await q.get()).toBe(1)
    expect(await q.get()).toBe(2)
  })

  it('an item handed to a getter aborted in the same tick goes back to the head', async () => {
    const q = new Queue<string>()
    const c = new AbortController()
    const a = track(q.get({ signal: c.signal }))
    q.putNowait('first')
    c.abort('late')
    q.putNowait('second')
    await flush()
    expect(a.state).toBe('rejected')
    expect(q.size).toBe(2)
    expect(q.getNowait()).toBe('first')
    expect(q.getNowait()).toBe('second')
  })

  it('an item handed back goes to the next getter', async () => {
    const q = new Queue<string>()
    const c = new AbortController()
    const a = track(q.get({ signal: c.signal }))
    const b = track(q.get())
    q.putNowait('only')
    c.abort('late')
    await flush()
    expect(a.state).toBe('rejected')
    expect(b.value).toBe('only')
  })

  it('a putter granted a slot and aborted in the same tick does not put its item', async () => {
    const q = new Queue<string>({ maxsize: 1 })
    q.putNowait('a')
    const c = new AbortController()
    const p = track(q.put('cancelled', { signal: c.signal }))
    const next = track(q.put('next'))
    expect(q.getNowait()).toBe('a') // slot reserved for the first putter
    c.abort('late')
    await flush()
    expect(p.state).toBe('rejected')
    expect(next.state).toBe('fulfilled')
    expect(q.getNowait()).toBe('next')
    expect(q.empty).toBe(true)
  })

  it('aborted getters and putters leave no waiter and no listener', async () => {
    const q = new Queue<number>({ maxsize: 1 })
    const g = countingController()
    const get = track(q.get({ signal: g.controller.signal }))
    g.controller.abort('g')
    q.putNowait(1)
    const p = countingController()
    const put = track(q.put(2, { signal: p.controller.signal }))
    p.controller.abort('p')
    await flush()
    expect([get.reason, put.reason]).toEqual(['g', 'p'])
    expect([g.listeners(), p.listeners()]).toEqual([0, 0])
    expect(q.size).toBe(1)
    await expect(q.get({ signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
    await expect(q.put(3, { signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
    expect(q.getNowait()).toBe(1)
  })

  it('taskDone and join', async () => {
    const q = new Queue<number>()
    await q.join()
    q.putNowait(1)
    q.putNowait(2)
    const joined = track(q.join())
    q.getNowait()
    q.taskDone()
    await flush()
    expect(joined.state).toBe('pending')
    q.getNowait()
    q.taskDone()
    await flush()
    expect(joined.state).toBe('fulfilled')
    expect(() => q.taskDone()).toThrow(/too many/)
  })

  it('shutdown(): puts reject, gets drain then reject, parked callers reject', async () => {
    const q = new Queue<number>({ maxsize: 1 })
    const getter = new Queue<number>()
    const parkedGet = track(getter.get())
    getter.shutdown()
    q.putNowait(1)
    const parkedPut = track(q.put(2))
    q.shutdown()
    await flush()
    expect(parkedGet.reason).toBeInstanceOf(QueueShutDown)
    expect(parkedPut.reason).toBeInstanceOf(QueueShutDown)
    await expect(q.put(3)).rejects.toBeInstanceOf(QueueShutDown)
    expect(() => q.putNowait(3)).toThrow(QueueShutDown)
    expect(await q.get()).toBe(1)
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown)
    expect(() => q.getNowait()).toThrow(QueueShutDown)
  })

  it('shutdown(true) drops the items and releases join()', async () => {
    const q = new Queue<number>()
    q.putNowait(1)
    q.putNowait(2)
    const joined = track(q.join())
    q.shutdown(true)
    await flush()
    expect(q.size).toBe(0)
    expect(joined.state).toBe('fulfilled')
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown)
  })

  it('async iteration ends once shut down and drained', async () => {
    const q = new Queue<number>()
    const seen: number[] = []
    const consumer = (async () => {
      for await (const item of q) {
        seen.push(item)
        q.taskDone()
      }
    })()
    for (let i = 0; i < 5; i++) await q.put(i)
    await q.join()
    q.putNowait(5)
    q.shutdown()
    await consumer
    expect(seen).toEqual([0, 1, 2, 3, 4, 5])
  })
})

describe('LifoQueue', () => {
  it('returns the newest item first', async () => {
    const q = new LifoQueue<number>()
    for (const i of [1, 2, 3]) q.putNowait(i)
    expect([await q.get(), await q.get(), await q.get()]).toEqual([3, 2, 1])
  })
})

describe('PriorityQueue', () => {
  it('returns the smallest item first (default compare)', async () => {
    const q = new PriorityQueue<number>()
    const input = [5, 3, 9, 1, 7, 1, 8, 2, 6, 4, 0]
    for (const i of input) q.putNowait(i)
    const out: number[] = []
    while (!q.empty) out.push(q.getNowait())
    expect(out).toEqual([...input].sort((a, b) => a - b))
  })

  it('uses compare and maxsize', async () => {
    const q = new PriorityQueue<[number, string]>({ maxsize: 2, compare: (a, b) => a[0] - b[0] })
    q.putNowait([2, 'b'])
    q.putNowait([1, 'a'])
    expect(q.full).toBe(true)
    const waiting = track(q.put([0, 'z']))
    expect(await q.get()).toEqual([1, 'a'])
    await flush()
    expect(waiting.state).toBe('fulfilled')
    expect(await q.get()).toEqual([0, 'z'])
  })

  it('errors are real classes', () => {
    expect(new QueueEmpty()).toBeInstanceOf(Error)
    expect(new QueueShutDown().name).toBe('QueueShutDown')
  })
})
