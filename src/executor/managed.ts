import { ExecutorClosed } from './errors.ts'
import type {
  CloseOptions,
  Executor,
  ExecutorFactory,
  ExecutorOptions,
  RunOptions,
} from './executor.ts'
import { createInlineExecutor } from './inline.ts'
import type { TaskArg, TaskModule, TaskName, TaskResult, TaskSource } from './tasks.ts'

/**
 * The executor `service.executor()` hands out at declaration time: the app keeps it in a
 * module constant, while the real one is made at startup by the runtime's factory (set by
 * the adapter) and force-closed at cleanup. Cleanup comes after the graceful shutdown let
 * requests and `waitUntil` work finish, so what still runs then is only what outlived its
 * time; it is stopped so that the process can exit.
 */
export class ManagedExecutor<M extends TaskModule> implements Executor<M> {
  readonly #tasks: TaskSource<M>
  readonly #options: ExecutorOptions
  #inner: Executor<M> | undefined

  constructor(tasks: TaskSource<M>, options: ExecutorOptions) {
    this.#tasks = tasks
    this.#options = options
  }

  /** The startup and cleanup halves, for `Service.cleanupCtx`. */
  async *lifetime(factory: ExecutorFactory | undefined): AsyncGenerator<unknown, void, void> {
    const inner = await (factory ?? createInlineExecutor)(this.#tasks, this.#options)
    this.#inner = inner
    try {
      yield
    } finally {
      await inner.close({ force: true })
    }
  }

  get size(): number {
    return this.#inner?.size ?? 0
  }

  get maxQueue(): number {
    return this.#inner?.maxQueue ?? 0
  }

  get running(): number {
    return this.#inner?.running ?? 0
  }

  get queued(): number {
    return this.#inner?.queued ?? 0
  }

  run<K extends TaskName<M>>(
    task: K,
    arg: TaskArg<M, K>,
    options?: RunOptions
  ): Promise<TaskResult<M, K>> {
    if (this.#inner === undefined) {
      return Promise.reject(
        new ExecutorClosed('the executor is not started yet: service.startup() creates it')
      )
    }
    return this.#inner.run(task, arg, options)
  }

  close(options?: CloseOptions): Promise<void> {
    return this.#inner?.close(options) ?? Promise.resolve()
  }
}
