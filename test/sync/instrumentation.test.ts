// The telemetry hook in park(): only named primitives that actually wait report, each wait
// is ended once with how it ended, and an instrumentation that throws breaks nothing.
import { afterEach, describe, expect, it } from 'vitest'
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  configurePrimitives,
  Event,
  Lock,
  Queue,
  QueueShutDown,
  Semaphore,
} from '../../src/sync/index.ts'
import { setInstrumentation } from '../../src/telemetry/instrumentation.ts'
import { flush, track } from './helpers.ts'
import { recorder } from './recording.ts'

afterEach(() => {
  setInstrumentation(undefined)
})

describe('wait instrumentation', () => {
  it('keeps constructors compatible and exposes the name', () => {
    expect(new Semaphore(2).name).toBeUndefined()
    expect(new Semaphore(2, { name: 'db' }).name).toBe('db')
    expect(new BoundedSemaphore(2, { name: 'pool' }).name).toBe('pool')
    expect(new Lock({ name: 'cache' }).name).toBe('cache')
    expect(new Event({ name: 'ready' }).name).toBe('ready')
    expect(new Barrier(2, { name: 'b' }).name).toBe('b')
    expect(new Condition(undefined, { name: 'c' }).name).toBe('c')
    expect(new Queue({ maxsize: 1, name: 'jobs' }).name).toBe('jobs')
  })

  it('records nothing on the fast path, nor for unnamed primitives', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const named = new Semaphore(1, { name: 'db' })
    await named.acquire() // free: no wait
    named.release()
    const unnamed = new Lock()
    await unnamed.acquire()
    const parked = unnamed.acquire() // waits, but unnamed
    unnamed.release()
    await parked
    const q = new Queue<number>({ name: 'jobs' })
    q.putNowait(1)
    await q.get()
    expect(rec.waits).toEqual([])
  })

  it('reports a parked wait once, as acquired, with class, method and name', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const sem = new Semaphore(1, { name: 'db' })
    await sem.acquire()
    const waiting = track(sem.acquire())
    expect(rec.waits).toEqual([
      { primitive: 'Semaphore', method: 'acquire', name: 'db', outcomes: [], errors: [] },
    ])
    sem.release()
    await flush()
    expect(waiting.state).toBe('fulfilled')
    expect(rec.waits[0]?.outcomes).toEqual(['acquired'])
  })

  it('an aborted waiter ends as aborted and leaves no waiter behind', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const lock = new Lock({ name: 'cache' })
    await lock.acquire()
    const c = new AbortController()
    const waiting = track(lock.acquire({ signal: c.signal }))
    c.abort(new Error('gone'))
    await flush()
    expect(waiting.state).toBe('rejected')
    expect(rec.waits.map((w) => [w.primitive, w.method, w.name, w.outcomes])).toEqual([
      ['Lock', 'acquire', 'cache', ['aborted']],
    ])
    expect(lock.waiting).toBe(0)
    lock.release()
    expect(lock.locked).toBe(false) // nobody took it: the aborted waiter consumed nothing
  })

  it('a waiter granted and aborted in the same tick ends as aborted and passes the grant on', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const sem = new Semaphore(1, { name: 'db' })
    await sem.acquire()
    const c = new AbortController()
    const first = track(sem.acquire({ signal: c.signal }))
    const second = track(sem.acquire())
    sem.release()
    c.abort()
    await flush()
    expect(first.state).toBe('rejected')
    expect(second.state).toBe('fulfilled')
    expect(rec.waits.map((w) => w.outcomes)).toEqual([['aborted'], ['acquired']])
  })

  it('names each primitive and method, and tells shutdown and broken apart', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const q = new Queue<number>({ maxsize: 1, name: 'jobs' })
    const got = track(q.get())
    q.putNowait(1) // handed to the getter
    q.putNowait(2)
    const put = track(q.put(3))
    const ev = new Event({ name: 'ready' })
    const evWait = track(ev.wait())
    const barrier = new Barrier(3, { name: 'b' })
    const bWait = track(barrier.wait())
    const cond = new Condition(undefined, { name: 'c' })
    await cond.acquire()
    const cWait = track(cond.wait())
    await flush()
    await cond.acquire() // wait() released the lock: take it to notify
    cond.notify()
    cond.release()
    await flush()
    ev.set()
    barrier.reset()
    q.shutdown()
    await flush()
    expect(got.state).toBe('fulfilled')
    expect(put.reason).toBeInstanceOf(QueueShutDown)
    expect(evWait.state).toBe('fulfilled')
    expect(bWait.state).toBe('rejected')
    expect(cWait.state).toBe('fulfilled')
    expect(rec.waits.map((w) => `${w.primitive}.${w.method} ${w.name}: ${w.outcomes}`)).toEqual([
      'Queue.get jobs: acquired',
      'Queue.put jobs: shutdown',
      'Event.wait ready: acquired',
      'Barrier.wait b: broken',
      'Condition.wait c: acquired',
    ])
  })

  it('reports a join() that waits as Queue.join, and one that need not wait not at all', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const q = new Queue<number>({ name: 'jobs' })
    await q.join() // nothing unfinished: no wait
    q.putNowait(1)
    const c = new AbortController()
    const gaveUp = track(q.join({ signal: c.signal }))
    const joined = track(q.join())
    c.abort()
    q.getNowait()
    q.taskDone()
    await flush()
    expect(gaveUp.state).toBe('rejected')
    expect(joined.state).toBe('fulfilled')
    expect(rec.waits.map((w) => `${w.primitive}.${w.method} ${w.name}: ${w.outcomes}`)).toEqual([
      'Queue.join jobs: aborted',
      'Queue.join jobs: acquired',
    ])
  })

  it("a named condition's own lock carries its name: taking it back after a notify is reported", async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const cond = new Condition(undefined, { name: 'c' })
    await cond.acquire()
    const waiting = track(cond.wait())
    await flush()
    await cond.acquire() // the lock is free while the waiter waits: take it to notify
    cond.notify()
    await flush() // notified, the waiter now waits for the lock this test still holds
    cond.release()
    await flush()
    expect(waiting.state).toBe('fulfilled')
    expect(rec.waits.map((w) => `${w.primitive}.${w.method} ${w.name}: ${w.outcomes}`)).toEqual([
      'Condition.wait c: acquired',
      'Lock.acquire c: acquired',
    ])
    cond.release()
  })

  it('a putter granted a slot but shut down before it resumes ends as shutdown', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const q = new Queue<number>({ maxsize: 1, name: 'jobs' })
    q.putNowait(0)
    const put = track(q.put(1, { signal: new AbortController().signal }))
    expect(q.getNowait()).toBe(0) // the slot goes to the parked putter…
    q.shutdown() // …which finds the queue shut down when it resumes
    await flush()
    expect(put.reason).toBeInstanceOf(QueueShutDown)
    expect(rec.waits.map((w) => `${w.primitive}.${w.method} ${w.name}: ${w.outcomes}`)).toEqual([
      'Queue.put jobs: shutdown',
    ])
  })

  it('reports keep-alive stalls (workerd) as stalled', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const before = configurePrimitives()
    configurePrimitives({ keepAlive: true, stallLimitMs: 1 })
    // The stall timer is unref'd (a parked wait must not keep a process alive): under
    // `deno test` nothing else would keep the loop running until it fires.
    const loop = setInterval(() => {}, 60_000)
    try {
      const ev = new Event({ name: 'never' })
      await expect(ev.wait()).rejects.toThrow(/waited more than/)
    } finally {
      clearInterval(loop)
      configurePrimitives(before)
    }
    expect(rec.waits.map((w) => w.outcomes)).toEqual([['stalled']])
  })

  it('an instrumentation that throws does not fail or leak the wait', async () => {
    setInstrumentation({
      startWait: () => ({
        end: () => {
          throw new Error('exporter down')
        },
      }),
      add: () => {},
      record: () => {},
      annotate: () => {},
    })
    const lock = new Lock({ name: 'x' })
    await lock.acquire()
    const waiting = lock.acquire()
    lock.release()
    await waiting
    expect(lock.locked).toBe(true)
    setInstrumentation({
      startWait: () => {
        throw new Error('tracer down')
      },
      add: () => {},
      record: () => {},
      annotate: () => {},
    })
    const again = lock.acquire()
    lock.release()
    await again
    expect(lock.locked).toBe(true)
  })
})
