// 100,000 aborted waiters leave nothing behind: no waiter in the list, no abort listener on a
// long-lived signal, and the heap back at its baseline after a full GC.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { Lock, Queue, Semaphore } from '../../src/sync/index.ts'
import { countingController, flush } from './helpers.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Live heap after full collections (a macrotask between them lets weak refs clear). */
async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0))
    gc()
  }
  return process.memoryUsage().heapUsed
}

const N = 100_000

describe('memory', () => {
  it('100,000 aborted lock waiters: list empty, heap back to baseline', async () => {
    const lock = new Lock()
    await lock.acquire()
    const cycle = async (): Promise<number> => {
      // 1,000 signals, each shared by 100 waits (a request signal over several waits).
      const controllers: AbortController[] = []
      const waits: Promise<void>[] = []
      for (let i = 0; i < N; i++) {
        if (i % 100 === 0) controllers.push(new AbortController())
        const c = controllers[controllers.length - 1] as AbortController
        waits.push(lock.acquire({ signal: c.signal }).catch(() => {}))
      }
      const parked = lock.waiting
      for (const c of controllers) c.abort()
      await Promise.all(waits)
      return parked
    }
    // Warm-up (lazy compilation, grown internal tables); then the second round must leave
    // the heap where the first one did.
    await cycle()
    const before = await heap()
    expect(await cycle()).toBe(N)
    expect(lock.waiting).toBe(0)
    expect((await heap()) - before).toBeLessThan(1_000_000)
    lock.release()
    expect(lock.locked).toBe(false)
  })

  it('one long-lived signal over 100,000 granted waits keeps no listener', async () => {
    const sem = new Semaphore(0)
    const { controller, listeners } = countingController()
    for (let round = 0; round < 10; round++) {
      const waits = Array.from({ length: N / 10 }, () => sem.acquire({ signal: controller.signal }))
      expect(listeners()).toBe(1) // one listener per signal, not per wait
      for (let i = 0; i < N / 10; i++) sem.release()
      await Promise.all(waits)
      expect(listeners()).toBe(0)
    }
  })

  it('100,000 queue getters aborted by one shared signal leave nothing behind', async () => {
    const q = new Queue<number>()
    const cycle = async (): Promise<void> => {
      const c = new AbortController()
      const waits = Array.from({ length: N }, () => q.get({ signal: c.signal }).catch(() => 0))
      c.abort()
      await Promise.all(waits)
    }
    await cycle()
    const before = await heap()
    await cycle()
    await flush()
    expect((await heap()) - before).toBeLessThan(1_000_000)
    q.putNowait(1)
    expect(q.getNowait()).toBe(1)
  })
})
