/**
 * The Node executor: worker threads managed by piscina (thread start-up, replacement of a
 * terminated or crashed thread, resource limits), under the shared scheduling of
 * `PoolExecutor` (pool bound, FIFO backlog and its limit, abort and close rules), so it
 * behaves exactly like the Deno and inline executors. Each thread runs
 * `src/executor/task-host.ts`, which imports the task module by URL (Node 24 strips the
 * types of `.ts` task modules in threads too).
 */
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { ResourceLimits } from 'node:worker_threads'
import { Piscina } from 'piscina'
import type { Executor, ExecutorOptions, TaskModule, TaskSource } from '../../src/executor/index.ts'
import { ExecutorTaskError } from '../../src/executor/index.ts'
import type { JobMessage, JobRunner, Outcome } from '../../src/internal.ts'
import { PoolExecutor, unwrapOutcome } from '../../src/internal.ts'

/** piscina's transfer list: Node's `Transferable`s, which the DOM ones are at run time. */
type PiscinaTransferList = NonNullable<Parameters<Piscina['run']>[1]>['transferList']

// From source this is adapters/node/executor.ts; in the package, dist/executor-node.js,
// beside dist/task-host.js (scripts/build.ts puts entries flat in dist/).
const HOST = fileURLToPath(
  new URL(
    import.meta.url.endsWith('.ts') ? '../../src/executor/task-host.ts' : './task-host.js',
    import.meta.url
  )
)

export interface NodeExecutorOptions extends ExecutorOptions {
  /**
   * Threads kept alive while idle. Default: `size`, so no request pays for a thread start
   * (~10–30 ms) except after a terminated job.
   */
  minThreads?: number
  /** How long a thread beyond `minThreads` may idle before it exits (ms). Default 0. */
  idleTimeout?: number
  /** Heap limits of each thread. */
  resourceLimits?: ResourceLimits
}

/**
 * Runs a task module's tasks on worker threads. Default size: CPU count − 1.
 *
 * @example
 * ```ts
 * import * as cpu from './cpu-tasks.ts'
 * const executor = createNodeExecutor(defineTasks(cpu, './cpu-tasks.ts', import.meta.url))
 * const digest = await executor.run('sha256Rounds', { data, rounds: 10_000 }, { signal })
 * await executor.close()
 * ```
 */
export function createNodeExecutor<M extends TaskModule>(
  tasks: TaskSource<M>,
  options: NodeExecutorOptions = {}
): Executor<M> {
  const module = tasks.url
  const size = options.size ?? Math.max(1, availableParallelism() - 1)
  const pool = new Piscina<JobMessage, Outcome>({
    filename: HOST,
    maxThreads: size,
    minThreads: Math.min(options.minThreads ?? size, size),
    ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout }),
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
  })
  const runner: JobRunner = {
    run: (job, signal) =>
      pool
        .run(
          { module, task: job.task, arg: job.arg },
          { signal, transferList: job.transfer as PiscinaTransferList }
        )
        .then(
          (outcome) => unwrapOutcome(job.task, outcome),
          (error: unknown) => {
            // piscina's own AbortError stands for our signal; anything else is the thread dying.
            throw signal.aborted ? signal.reason : new ExecutorTaskError(job.task, error)
          }
        ),
    close: () => pool.destroy(),
  }
  return new PoolExecutor<M>(runner, { ...options, size }, size)
}
