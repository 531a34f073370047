import { afterEach, describe, expect, test } from 'vitest'
import { createNodeExecutor } from '../../adapters/node/executor.ts'
import { ExecutorClosed, ExecutorQueueFull, ExecutorTaskError } from './errors.ts'
import type { Executor, ExecutorOptions } from './executor.ts'
import * as fixtures from './fixture-tasks.ts'
import { createGate, open, started } from './fixture-tasks.ts'
import { createInlineExecutor } from './inline.ts'
import { defineTasks } from './tasks.ts'

// The real executors, the same cases for each: inline, and worker threads (piscina).

const tasks = defineTasks(fixtures, './fixture-tasks.ts', import.meta.url)
type Fixtures = typeof fixtures
const kinds: [string, (options: ExecutorOptions) => Executor<Fixtures>][] = [
  ['inline', (options) => createInlineExecutor(tasks, options)],
  ['node threads', (options) => createNodeExecutor(tasks, options)],
]

const open_: Executor<Fixtures>[] = []
afterEach(async () => {
  await Promise.all(open_.splice(0).map((e) => e.close({ force: true })))
})

describe.each(kinds)('%s executor', (_kind, create) => {
  const make = (options: ExecutorOptions = {}) => {
    const executor = create(options)
    open_.push(executor)
    return executor
  }

  test('runs a task and resolves with its result', async () => {
    const executor = make({ size: 2 })
    expect(await executor.run('add', { a: 2, b: 3 })).toBe(5)
    expect(await executor.run('echo', { nested: [1, 'two', null] })).toEqual({
      nested: [1, 'two', null],
    })
  })

  test('the task gets a copy of its argument, as across a thread', async () => {
    const executor = make()
    const value = { n: 1 }
    expect(await executor.run('mutate', value)).toBe(2)
    expect(value.n).toBe(1)
  })

  test('a transferred buffer moves to the task', async () => {
    const executor = make()
    const buffer = new ArrayBuffer(8)
    expect(await executor.run('byteLength', buffer, { transfer: [buffer] })).toBe(8)
    expect(buffer.byteLength).toBe(0) // detached: it is the task's now
  })

  test("a task's error comes back as ExecutorTaskError with its message, name, code and stack", async () => {
    const executor = make()
    const error = await executor.run('fail', 'bad input').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ExecutorTaskError)
    const taskError = error as ExecutorTaskError
    expect(taskError.message).toBe('bad input')
    expect(taskError.task).toBe('fail')
    const cause = taskError.cause as Error & { code?: string }
    expect(cause.name).toBe('CodedError')
    expect(cause.code).toBe('E_FIXTURE')
    expect(cause.stack).toMatch(/fail .*fixture-tasks\.ts/)
    expect(await executor.run('add', { a: 1, b: 1 })).toBe(2) // and the executor goes on
  })

  test('an unknown task is an ExecutorTaskError too', async () => {
    const executor = make()
    const run = executor.run as (task: string, arg: unknown) => Promise<unknown>
    await expect(run.call(executor, 'nope', 1)).rejects.toThrow(/no task named "nope"/)
  })

  test('at most `size` jobs run at once; the others start in FIFO order', async () => {
    const executor = make({ size: 2 })
    const gate = createGate()
    const jobs = [0, 1, 2, 3].map((id) => executor.run('gated', { gate, id }))
    // The first two start on two threads at once, in either order; each later one starts
    // alone, when a slot frees, and must be the oldest in the backlog.
    expect((await started(gate, 2)).sort()).toEqual([0, 1])
    expect([executor.running, executor.queued]).toEqual([2, 2])
    open(gate, 1)
    expect((await started(gate, 3))[2]).toBe(2)
    open(gate, 0)
    expect((await started(gate, 4))[3]).toBe(3)
    open(gate, 2)
    open(gate, 3)
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3])
  })

  test('a full backlog refuses with ExecutorQueueFull; an aborted queued job leaves it', async () => {
    const executor = make({ size: 1, maxQueue: 1 })
    const gate = createGate()
    const first = executor.run('gated', { gate, id: 0 })
    await started(gate, 1)
    const controller = new AbortController()
    const queued = executor.run('gated', { gate, id: 1 }, { signal: controller.signal })
    await expect(executor.run('gated', { gate, id: 2 })).rejects.toBeInstanceOf(ExecutorQueueFull)
    controller.abort(new Error('gone'))
    await expect(queued).rejects.toThrow('gone')
    const third = executor.run('gated', { gate, id: 2 }) // there is room again
    open(gate, 0)
    expect(await started(gate, 2)).toEqual([0, 2]) // job 1 never ran
    open(gate, 2)
    expect(await Promise.all([first, third])).toEqual([0, 2])
  })

  test('an already-aborted signal rejects at once with its reason', async () => {
    const executor = make()
    const reason = new Error('before it started')
    await expect(
      executor.run('add', { a: 1, b: 2 }, { signal: AbortSignal.abort(reason) })
    ).rejects.toBe(reason)
  })

  test('close() waits for running jobs, then refuses new ones', async () => {
    const executor = make({ size: 1 })
    const gate = createGate()
    const job = executor.run('gated', { gate, id: 0 })
    await started(gate, 1)
    const closing = executor.close()
    await expect(executor.run('add', { a: 1, b: 1 })).rejects.toBeInstanceOf(ExecutorClosed)
    open(gate, 0)
    await closing
    expect(await job).toBe(0)
  })
})

describe('node threads executor: terminating', () => {
  test('aborting a running job terminates its thread and rejects with the reason', async () => {
    const executor = createNodeExecutor(tasks, { size: 1 })
    open_.push(executor)
    const controller = new AbortController()
    const gate = createGate()
    const spinning = executor.run('spin', gate, { signal: controller.signal })
    const next = executor.run('add', { a: 20, b: 22 }) // queued behind the endless job
    await started(gate, 1)
    const reason = new Error('enough')
    controller.abort(reason)
    await expect(spinning).rejects.toBe(reason)
    expect(await next).toBe(42) // ran on a fresh thread: the spinning one is gone
  })

  test('close({ force: true }) stops a job that would never end', async () => {
    const executor = createNodeExecutor(tasks, { size: 1 })
    const gate = createGate()
    const spinning = executor.run('spin', gate)
    await started(gate, 1)
    const rejected = expect(spinning).rejects.toBeInstanceOf(ExecutorClosed)
    await executor.close({ force: true })
    await rejected
    expect(executor.running).toBe(0)
  })

  test('a task module that cannot be loaded fails each job with ExecutorTaskError', async () => {
    const missing = defineTasks(fixtures, './no-such-module.ts', import.meta.url)
    const executor = createNodeExecutor(missing, { size: 1 })
    open_.push(executor)
    await expect(executor.run('add', { a: 1, b: 1 })).rejects.toBeInstanceOf(ExecutorTaskError)
  })
})

describe('inline executor: abandoning', () => {
  test('an aborted running task is abandoned: the caller is rejected at once, the slot freed when it ends', async () => {
    const executor = createInlineExecutor(tasks, { size: 1 })
    open_.push(executor)
    const gate = createGate()
    const controller = new AbortController()
    const job = executor.run('gated', { gate, id: 0 }, { signal: controller.signal })
    const next = executor.run('add', { a: 1, b: 2 })
    await started(gate, 1)
    controller.abort(new Error('abandon'))
    await expect(job).rejects.toThrow('abandon')
    expect(executor.running).toBe(1) // the task itself goes on
    open(gate, 0)
    expect(await next).toBe(3)
    expect(executor.running).toBe(0)
  })
})
