import { ExecutorTaskError } from './errors.ts'
import type { Executor, ExecutorOptions } from './executor.ts'
import type { JobRunner } from './pool.ts'
import { PoolExecutor } from './pool.ts'
import type { TaskModule, TaskSource } from './tasks.ts'

export interface InlineExecutorOptions extends ExecutorOptions {
  /**
   * Copy the argument (honouring `transfer`) and the result with `structuredClone`, as a
   * thread would, so that code tested inline behaves the same with threads: a task cannot
   * mutate the caller's data, and an argument that is not clonable fails here too.
   * Default `true`; `false` saves the copies.
   */
  clone?: boolean
}

/**
 * An executor that runs each task in the calling thread: the fallback for Workers, which
 * have no threads, and a convenience for tests. Same contract as the thread pools — pool
 * size, FIFO backlog and its limit, `ExecutorTaskError`, `signal.reason` — with one
 * difference: it cannot take work off the event loop. A synchronous task blocks the
 * isolate while it runs (on Workers it counts against the request's CPU time), and an
 * aborted running task is abandoned, not stopped: the caller is rejected at once, but the
 * task goes on and keeps its slot until it ends. The size (default 1) bounds how many
 * asynchronous tasks run at once.
 *
 * @example
 * ```ts
 * import * as cpu from './cpu-tasks.ts'
 * const executor = createInlineExecutor(defineTasks(cpu, './cpu-tasks.ts', import.meta.url))
 * const digest = await executor.run('sha256Rounds', { data, rounds: 10 })
 * ```
 */
export function createInlineExecutor<M extends TaskModule>(
  tasks: TaskSource<M>,
  options: InlineExecutorOptions = {}
): Executor<M> {
  return new PoolExecutor<M>(inlineRunner(tasks.module, options.clone ?? true), options, 1)
}

function inlineRunner(module: TaskModule, clone: boolean): JobRunner {
  const tasks = module as Record<string, unknown>
  return {
    async run({ task, arg, transfer }) {
      const fn = tasks[task]
      if (typeof fn !== 'function') {
        throw new ExecutorTaskError(task, new TypeError(`no task named "${task}" in the module`))
      }
      const input = clone ? structuredClone(arg, { transfer: transfer ?? [] }) : arg
      let value: unknown
      try {
        value = await fn(input)
      } catch (error) {
        throw new ExecutorTaskError(task, error)
      }
      return clone ? structuredClone(value) : value
    },
    async close() {},
  }
}
