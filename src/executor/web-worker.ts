import { ExecutorTaskError } from './errors.ts'
import type { Executor, ExecutorOptions } from './executor.ts'
import type { JobRunner } from './pool.ts'
import { PoolExecutor } from './pool.ts'
import type { JobMessage, Outcome } from './protocol.ts'
import { unwrapOutcome } from './protocol.ts'
import type { TaskModule, TaskSource } from './tasks.ts'

/**
 * An executor over the standard `Worker` API (Deno; any runtime with module Web Workers):
 * up to `size` workers, started on first need and kept for the next job; a running job
 * whose signal aborts has its worker terminated, and a fresh one replaces it.
 *
 * On Deno the process needs `--allow-read` for the worker entry (this directory) and the
 * task module. Default size: CPU count − 1.
 *
 * @example
 * ```ts
 * import * as cpu from './cpu-tasks.ts'
 * const executor = createWebWorkerExecutor(defineTasks(cpu, './cpu-tasks.ts', import.meta.url))
 * const digest = await executor.run('sha256Rounds', { data, rounds: 10_000 }, { signal })
 * ```
 */
export function createWebWorkerExecutor<M extends TaskModule>(
  tasks: TaskSource<M>,
  options: ExecutorOptions = {}
): Executor<M> {
  if (typeof Worker !== 'function') {
    throw new TypeError('createWebWorkerExecutor: this runtime has no Web Workers')
  }
  const cpus = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency
  return new PoolExecutor<M>(webWorkerRunner(tasks.url), options, Math.max(1, (cpus ?? 2) - 1))
}

function webWorkerRunner(module: string): JobRunner {
  // From source, src/executor/web-worker-host.ts beside this file; in the package, this code
  // sits in a chunk in dist/, beside dist/web-worker-host.js (see scripts/build.ts).
  const host = new URL(
    `./web-worker-host.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
    import.meta.url
  )
  const idle: Worker[] = []
  const all = new Set<Worker>()

  return {
    run(job, signal) {
      const worker = idle.pop() ?? new Worker(host, { type: 'module', name: 'edgeio-executor' })
      all.add(worker)
      return new Promise((resolve, reject) => {
        const finish = (reusable: boolean): void => {
          worker.onmessage = worker.onerror = worker.onmessageerror = null
          signal.removeEventListener('abort', onAbort)
          if (reusable && all.has(worker)) idle.push(worker)
          else {
            all.delete(worker)
            worker.terminate()
          }
        }
        const onAbort = (): void => {
          finish(false) // terminate() stops even a task spinning in a loop
          reject(signal.reason)
        }
        worker.onmessage = (event: MessageEvent<Outcome>) => {
          finish(true)
          try {
            resolve(unwrapOutcome(job.task, event.data))
          } catch (error) {
            reject(error)
          }
        }
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault() // handled here: not an uncaught error of this thread
          finish(false)
          reject(new ExecutorTaskError(job.task, new Error(event.message || 'the worker failed')))
        }
        worker.onmessageerror = () => {
          finish(false)
          reject(new ExecutorTaskError(job.task, new Error('the result could not be received')))
        }
        signal.addEventListener('abort', onAbort, { once: true })
        const message: JobMessage = { module, task: job.task, arg: job.arg }
        try {
          worker.postMessage(message, job.transfer ?? [])
        } catch (error) {
          finish(true) // the argument could not be cloned: the worker is untouched
          reject(error)
        }
      })
    },
    async close() {
      for (const worker of all) worker.terminate()
      all.clear()
      idle.length = 0
    },
  }
}
