import { describe, expect, test } from 'vitest'
import { ExecutorClosed, ExecutorQueueFull } from './errors.ts'
import type { Job, JobRunner } from './pool.ts'
import { PoolExecutor } from './pool.ts'

// The scheduling rules, over a runner whose jobs the test finishes by hand.

interface Started {
  job: Job
  signal: AbortSignal
  finish(value: unknown): void
  fail(error: unknown): void
}

type Tasks = { work: (arg: string) => string }

function setup(options: { size?: number; maxQueue?: number } = {}) {
  const started: Started[] = []
  let closed = 0
  const runner: JobRunner = {
    run(job, signal) {
      const { promise, resolve, reject } = Promise.withResolvers<unknown>()
      started.push({ job, signal, finish: resolve, fail: reject })
      return promise
    },
    async close() {
      closed++
    },
  }
  const executor = new PoolExecutor<Tasks>(runner, options, 2)
  return { executor, started, closedCount: () => closed }
}

/** Lets every pending continuation run (no timers involved). */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

const args = (started: Started[]) => started.map((s) => s.job.arg)

describe('PoolExecutor', () => {
  test('runs at most `size` jobs at once, the rest in FIFO order', async () => {
    const { executor, started } = setup({ size: 2 })
    const results = ['a', 'b', 'c', 'd', 'e'].map((x) => executor.run('work', x))
    await flush()
    expect(args(started)).toEqual(['a', 'b'])
    expect([executor.running, executor.queued]).toEqual([2, 3])

    started[1]?.finish('B')
    await flush()
    expect(args(started)).toEqual(['a', 'b', 'c'])
    started[0]?.finish('A')
    started[2]?.finish('C')
    await flush()
    expect(args(started)).toEqual(['a', 'b', 'c', 'd', 'e'])
    started[3]?.finish('D')
    started[4]?.finish('E')
    expect(await Promise.all(results)).toEqual(['A', 'B', 'C', 'D', 'E'])
    expect([executor.running, executor.queued]).toEqual([0, 0])
  })

  test('refuses a job with ExecutorQueueFull once the backlog is at maxQueue', async () => {
    const { executor, started } = setup({ size: 1, maxQueue: 2 })
    const accepted = ['a', 'b', 'c'].map((x) => executor.run('work', x))
    await expect(executor.run('work', 'd')).rejects.toBeInstanceOf(ExecutorQueueFull)
    await flush()
    started[0]?.finish('A') // one leaves the backlog: room for one more
    await flush()
    const late = executor.run('work', 'e')
    await expect(executor.run('work', 'f')).rejects.toBeInstanceOf(ExecutorQueueFull)
    for (let i = 1; i < 4; i++) {
      started[i]?.finish(started[i]?.job.arg)
      await flush()
    }
    expect(args(started)).toEqual(['a', 'b', 'c', 'e'])
    expect(await Promise.all([...accepted, late])).toEqual(['A', 'b', 'c', 'e'])
  })

  test('maxQueue 0: no backlog, a job runs at once or is refused', async () => {
    const { executor, started } = setup({ size: 1, maxQueue: 0 })
    const first = executor.run('work', 'a')
    await expect(executor.run('work', 'b')).rejects.toBeInstanceOf(ExecutorQueueFull)
    await flush()
    started[0]?.finish('A')
    expect(await first).toBe('A')
  })

  test('an already-aborted signal rejects at once with its reason, even with a free slot', async () => {
    const { executor, started } = setup()
    const reason = new Error('no thanks')
    await expect(executor.run('work', 'a', { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason
    )
    await flush()
    expect(started).toEqual([])
  })

  test('aborting a queued job removes it from the backlog; the next in line moves up', async () => {
    const { executor, started } = setup({ size: 1, maxQueue: 2 })
    const first = executor.run('work', 'a')
    const controller = new AbortController()
    const queued = executor.run('work', 'b', { signal: controller.signal })
    const third = executor.run('work', 'c')
    expect(executor.queued).toBe(2)
    const reason = new Error('changed my mind')
    controller.abort(reason)
    await expect(queued).rejects.toBe(reason)
    expect(executor.queued).toBe(1)
    await flush()
    started[0]?.finish('A')
    await flush()
    expect(args(started)).toEqual(['a', 'c'])
    started[1]?.finish('C')
    expect(await Promise.all([first, third])).toEqual(['A', 'C'])
  })

  test('aborting a running job rejects at once; the slot stays busy until the runner lets go', async () => {
    const { executor, started } = setup({ size: 1 })
    const controller = new AbortController()
    const running = executor.run('work', 'a', { signal: controller.signal })
    const next = executor.run('work', 'b')
    await flush()
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(running).rejects.toBe(reason)
    expect(started[0]?.signal.aborted).toBe(true) // the runner is told to terminate
    await flush()
    expect(args(started)).toEqual(['a']) // not yet: the thread is still being stopped
    started[0]?.fail(new Error('terminated'))
    await flush()
    expect(args(started)).toEqual(['a', 'b'])
    started[1]?.finish('B')
    expect(await next).toBe('B')
  })

  test("a runner's failure reaches the caller as it is", async () => {
    const { executor, started } = setup()
    const result = executor.run('work', 'a')
    await flush()
    const error = new Error('task failed')
    started[0]?.fail(error)
    await expect(result).rejects.toBe(error)
    expect(executor.running).toBe(0)
  })

  test('close() refuses new jobs, lets queued and running ones finish, then closes the runner', async () => {
    const { executor, started, closedCount } = setup({ size: 1 })
    const jobs = [executor.run('work', 'a'), executor.run('work', 'b')]
    let closed = false
    const closing = executor.close().then(() => {
      closed = true
    })
    await expect(executor.run('work', 'c')).rejects.toBeInstanceOf(ExecutorClosed)
    await flush()
    started[0]?.finish('A')
    await flush()
    expect(closed).toBe(false)
    started[1]?.finish('B')
    await closing
    expect(await Promise.all(jobs)).toEqual(['A', 'B'])
    expect(closedCount()).toBe(1)
    expect(executor.close()).toBe(executor.close()) // idempotent
  })

  test('close({ force: true }) rejects queued and running jobs with ExecutorClosed and closes the runner', async () => {
    const { executor, started, closedCount } = setup({ size: 1 })
    const running = executor.run('work', 'a')
    const queued = executor.run('work', 'b')
    await flush()
    const rejected = Promise.all([
      expect(running).rejects.toBeInstanceOf(ExecutorClosed),
      expect(queued).rejects.toBeInstanceOf(ExecutorClosed),
    ])
    await executor.close({ force: true })
    await rejected
    expect(started[0]?.signal.aborted).toBe(true)
    expect(args(started)).toEqual(['a'])
    expect(closedCount()).toBe(1)
  })

  test('a forced close during a graceful one stops the wait', async () => {
    const { executor, started } = setup({ size: 1 })
    const running = executor.run('work', 'a')
    running.catch(() => {})
    await flush()
    const graceful = executor.close()
    await executor.close({ force: true })
    await graceful
    expect(started[0]?.signal.aborted).toBe(true)
    await expect(running).rejects.toBeInstanceOf(ExecutorClosed)
  })

  test('validates its options', () => {
    const runner: JobRunner = { run: async () => undefined, close: async () => {} }
    expect(() => new PoolExecutor(runner, { size: 0 }, 1)).toThrow(RangeError)
    expect(() => new PoolExecutor(runner, { size: 1.5 }, 1)).toThrow(RangeError)
    expect(() => new PoolExecutor(runner, { maxQueue: -1 }, 1)).toThrow(RangeError)
    expect(new PoolExecutor(runner, { maxQueue: Infinity }, 3).size).toBe(3)
  })
})
