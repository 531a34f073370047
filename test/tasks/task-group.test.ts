import { describe, expect, it } from 'vitest'
import { TaskGroup } from '../../src/tasks/index.ts'

/** Resolves when `signal` aborts (rejecting with its reason), like cancellable work. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

describe('TaskGroup', () => {
  it('resolves with the body result once every task is done', async () => {
    const done: number[] = []
    const result = await TaskGroup.run(async (tg) => {
      for (let i = 0; i < 5; i++) {
        tg.spawn(async () => {
          await Promise.resolve()
          done.push(i)
        })
      }
      return 'body'
    })
    expect(result).toBe('body')
    expect(done.sort()).toEqual([0, 1, 2, 3, 4])
  })

  it('spawn returns the task promise', async () => {
    await TaskGroup.run(async (tg) => {
      const p = tg.spawn(async () => 7)
      expect(await p).toBe(7)
    })
  })

  it('tasks spawned by tasks are awaited too', async () => {
    let inner = false
    await TaskGroup.run((tg) => {
      tg.spawn(async () => {
        await Promise.resolve()
        tg.spawn(async () => {
          await Promise.resolve()
          inner = true
        })
      })
    })
    expect(inner).toBe(true)
  })

  it('the first failure aborts the siblings and rejects with an AggregateError of failures only', async () => {
    const boom = new Error('boom')
    const seen: unknown[] = []
    let settledSiblings = 0
    const run = TaskGroup.run(async (tg) => {
      for (let i = 0; i < 3; i++) {
        tg.spawn(async (signal) => {
          try {
            await untilAborted(signal)
          } finally {
            seen.push(signal.aborted)
            settledSiblings++
          }
        })
      }
      tg.spawn(async () => {
        await Promise.resolve()
        throw boom
      })
    })
    const error = await run.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors).toEqual([boom])
    expect(settledSiblings).toBe(3) // waited for every task before rejecting
    expect(seen).toEqual([true, true, true])
  })

  it('collects every independent failure', async () => {
    const a = new Error('a')
    const b = new Error('b')
    const error = await TaskGroup.run((tg) => {
      tg.spawn(() => Promise.reject(a))
      tg.spawn(() => {
        throw b
      })
    }).catch((e: unknown) => e)
    expect((error as AggregateError).errors).toEqual([a, b])
  })

  it('a failing body aborts the tasks and is reported', async () => {
    const bad = new Error('body')
    const error = await TaskGroup.run(async (tg) => {
      tg.spawn((signal) => untilAborted(signal))
      throw bad
    }).catch((e: unknown) => e)
    expect((error as AggregateError).errors).toEqual([bad])
  })

  it('spawn after the group finished throws; rejected spawns are not unhandled', async () => {
    let saved: TaskGroup | undefined
    const failing = await TaskGroup.run((tg) => {
      saved = tg
      tg.spawn(() => Promise.reject(new Error('x'))) // returned promise ignored on purpose
    }).catch((e: unknown) => e)
    expect(failing).toBeInstanceOf(AggregateError)
    expect(() => saved?.spawn(async () => 1)).toThrow(/finished/)
  })

  it('an outer abort aborts the tasks and rejects with the outer reason', async () => {
    const outer = new AbortController()
    let taskSaw: unknown
    const run = TaskGroup.run(
      (tg) => {
        tg.spawn(async (signal) => {
          try {
            await untilAborted(signal)
          } catch (e) {
            taskSaw = e
            throw e
          }
        })
      },
      { signal: outer.signal }
    )
    outer.abort('stop')
    await expect(run).rejects.toBe('stop')
    expect(taskSaw).toBe('stop')
    await expect(TaskGroup.run(() => 1, { signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
  })
})
