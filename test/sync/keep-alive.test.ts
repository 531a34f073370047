// The workerd mode, simulated on Node: each parked waiter owns a timer (cleared by its own
// continuation) that doubles as a stall deadline.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  configurePrimitives,
  Event,
  Lock,
  Queue,
  QueueShutDown,
  Semaphore,
  StalledWaitError,
} from '../../src/sync/index.ts'
import { flush, track } from './helpers.ts'

describe('keep-alive mode (what runs in workerd)', () => {
  let saved: ReturnType<typeof configurePrimitives>
  beforeEach(() => {
    saved = configurePrimitives()
    configurePrimitives({ keepAlive: true, stallLimitMs: 30_000 })
  })
  afterEach(() => {
    configurePrimitives(saved)
  })

  it('is on exactly in workerd by default, and validates its input', () => {
    const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent
    expect(saved.keepAlive).toBe(ua === 'Cloudflare-Workers')
    expect(() => configurePrimitives({ stallLimitMs: 0 })).toThrow(RangeError)
  })

  it('keeps the semantics: FIFO, hand-over, late abort passes on', async () => {
    const lock = new Lock()
    await lock.acquire()
    const c = new AbortController()
    const a = track(lock.acquire({ signal: c.signal }))
    const b = track(lock.acquire())
    const d = track(lock.acquire())
    lock.release()
    c.abort('late')
    await flush()
    expect(a.state).toBe('rejected')
    expect(b.state).toBe('fulfilled')
    expect(d.state).toBe('pending')
    lock.release()
    await flush()
    expect(d.state).toBe('fulfilled')
  })

  it('queues and events work the same', async () => {
    const q = new Queue<number>({ maxsize: 1 })
    const got = track(q.get())
    q.putNowait(1)
    q.putNowait(2)
    const put = track(q.put(3))
    await flush()
    expect(got.value).toBe(1)
    expect(q.getNowait()).toBe(2)
    await flush()
    expect(put.state).toBe('fulfilled')
    const e = new Event()
    const w = track(e.wait())
    e.set()
    await flush()
    expect(w.state).toBe('fulfilled')
    q.shutdown()
    await expect(q.get({ signal: new AbortController().signal })).resolves.toBe(3)
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDown)
  })

  it('a wait that nobody ends fails with StalledWaitError instead of hanging', async () => {
    configurePrimitives({ stallLimitMs: 5 })
    const sem = new Semaphore(0)
    // The waiter's timer is unref'd (it must not keep a process alive); this one keeps the
    // event loop of a bare runtime (deno test) running until the deadline.
    const keepLoop = setTimeout(() => {}, 10_000)
    await expect(sem.acquire()).rejects.toBeInstanceOf(StalledWaitError)
    clearTimeout(keepLoop)
    expect(sem.waiting).toBe(0)
    sem.release()
    expect(sem.value).toBe(1)
  })
})
