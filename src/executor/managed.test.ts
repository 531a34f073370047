import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { Service } from '../lifecycle/service.ts'
import { ExecutorClosed } from './errors.ts'
import type { CloseOptions, Executor, ExecutorFactory } from './executor.ts'
import * as fixtures from './fixture-tasks.ts'
import { createGate, open, started } from './fixture-tasks.ts'
import { createInlineExecutor } from './inline.ts'
import { defineTasks } from './tasks.ts'

// service.executor(): declared at module level, made at startup, closed at cleanup.

const tasks = defineTasks(fixtures, './fixture-tasks.ts', import.meta.url)

describe('service.executor()', () => {
  test('rejects jobs before startup, runs them after, and is closed by cleanup', async () => {
    const service = new Service(new Hono())
    const executor = service.executor(tasks, { size: 3 })
    await expect(executor.run('add', { a: 1, b: 2 })).rejects.toBeInstanceOf(ExecutorClosed)
    expect(executor.size).toBe(0)

    await service.startup()
    expect(executor.size).toBe(3)
    expect(await executor.run('add', { a: 1, b: 2 })).toBe(3)

    await service.cleanup()
    await expect(executor.run('add', { a: 1, b: 2 })).rejects.toBeInstanceOf(ExecutorClosed)
  })

  test("uses the adapter's factory, with the declared options", async () => {
    const service = new Service(new Hono())
    const made: unknown[] = []
    const factory: ExecutorFactory = (source, options) => {
      made.push(options)
      return createInlineExecutor(source, options)
    }
    service.executorFactory = factory
    const executor = service.executor(tasks, { size: 2, maxQueue: 5 })
    await service.startup()
    expect(made).toEqual([{ size: 2, maxQueue: 5 }])
    expect(await executor.run('echo', 'hi')).toBe('hi')
    await service.cleanup()
  })

  test('cleanup force-closes: a job still running then is rejected, not waited for', async () => {
    const service = new Service(new Hono())
    const closes: (CloseOptions | undefined)[] = []
    service.executorFactory = (source, options) => {
      const inner = createInlineExecutor(source, options)
      const spy: Executor<typeof source.module> = {
        size: inner.size,
        maxQueue: inner.maxQueue,
        running: inner.running,
        queued: inner.queued,
        run: inner.run.bind(inner),
        close(closeOptions) {
          closes.push(closeOptions)
          return inner.close(closeOptions)
        },
      }
      return spy
    }
    const executor = service.executor(tasks)
    await service.startup()
    const gate = createGate()
    const job = executor.run('gated', { gate, id: 0 })
    await started(gate, 1)
    const rejected = expect(job).rejects.toBeInstanceOf(ExecutorClosed)
    await service.cleanup()
    await rejected
    expect(closes).toEqual([{ force: true }])
    open(gate, 0) // let the abandoned inline task end
  })

  test('a failing startup step after it still closes it', async () => {
    const service = new Service(new Hono())
    const executor = service.executor(tasks)
    service.onStartup(() => {
      throw new Error('later step failed')
    })
    await expect(service.startup()).rejects.toThrow('later step failed')
    await expect(executor.run('add', { a: 1, b: 1 })).rejects.toBeInstanceOf(ExecutorClosed)
  })
})
