import { Semaphore } from '../sync/semaphore.ts'
import { executorJob, seconds } from '../telemetry/instrumentation.ts'
import { ExecutorClosed, ExecutorQueueFull } from './errors.ts'
import type {
  CloseOptions,
  Executor,
  ExecutorOptions,
  RunOptions,
  TransferableObject,
} from './executor.ts'
import type { TaskArg, TaskModule, TaskName, TaskResult } from './tasks.ts'

/** One job as a {@link JobRunner} receives it. */
export interface Job {
  task: string
  arg: unknown
  transfer: TransferableObject[] | undefined
}

/**
 * The mechanism under a {@link PoolExecutor}: how one job runs on a free slot (a thread, a
 * Web Worker, the current thread). The pool decides when; the runner only runs.
 */
export interface JobRunner {
  /**
   * Runs `job` now: the pool calls it only with a slot free. Resolves with the task's
   * value or rejects (with `ExecutorTaskError` for a task's failure). When `signal` aborts,
   * the runner stops the job (terminates its thread) or abandons it; it settles once the
   * slot can take another job: the pool counts the slot busy until then.
   */
  run(job: Job, signal: AbortSignal): Promise<unknown>
  /** Releases every thread. Called once, when the pool closes. */
  close(): Promise<void>
}

/**
 * The scheduling every executor shares, whatever runs the jobs: at most `size` jobs at once
 * (a `Semaphore`), a FIFO backlog of at most `maxQueue` (the semaphore's waiters, which an
 * aborted signal removes at once), the abort and close rules of {@link Executor}. Built on
 * the primitives so that, in workerd, a job waiting for a slot freed by another request is
 * not cancelled as hung.
 *
 * @example
 * ```ts
 * const executor = new PoolExecutor<typeof tasks>(myRunner, { size: 4, maxQueue: 100 }, 1)
 * const digest = await executor.run('sha256', { data, rounds: 1000 }, { signal })
 * ```
 */
export class PoolExecutor<M extends TaskModule> implements Executor<M> {
  readonly size: number
  readonly maxQueue: number
  readonly #runner: JobRunner
  readonly #slots: Semaphore
  readonly #name: string | undefined
  /** Aborted by a forced close: rejects every queued and running job. */
  readonly #stop = new AbortController()
  #running = 0
  /** Accepted jobs that still hold or wait for a slot. */
  #jobs = 0
  #idle: PromiseWithResolvers<void> | undefined
  #closing: Promise<void> | undefined

  constructor(runner: JobRunner, options: ExecutorOptions, defaultSize: number) {
    const size = options.size ?? defaultSize
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError('executor size must be an integer >= 1')
    }
    const maxQueue = options.maxQueue ?? 64 * size
    if (!(maxQueue >= 0) || (maxQueue !== Infinity && !Number.isInteger(maxQueue))) {
      throw new RangeError('executor maxQueue must be an integer >= 0 or Infinity')
    }
    this.size = size
    this.maxQueue = maxQueue
    this.#runner = runner
    this.#slots = new Semaphore(size)
    this.#name = options.name
  }

  get running(): number {
    return this.#running
  }

  get queued(): number {
    return this.#slots.waiting
  }

  run<K extends TaskName<M>>(
    task: K,
    arg: TaskArg<M, K>,
    options?: RunOptions
  ): Promise<TaskResult<M, K>> {
    const signal = options?.signal
    if (this.#closing !== undefined) {
      return Promise.reject(new ExecutorClosed('the executor is closed'))
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#slots.locked && this.#slots.waiting >= this.maxQueue) {
      return Promise.reject(
        new ExecutorQueueFull(
          `executor full: ${this.size} job(s) running and ${this.maxQueue} queued`
        )
      )
    }
    const job: Job = { task, arg, transfer: options?.transfer }
    return this.#run(job, signal) as Promise<TaskResult<M, K>>
  }

  close(options?: CloseOptions): Promise<void> {
    if (options?.force && !this.#stop.signal.aborted) {
      this.#stop.abort(new ExecutorClosed('the executor was closed'))
    }
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #run(job: Job, userSignal: AbortSignal | undefined): Promise<unknown> {
    // One signal for both reasons a job stops early: the caller's abort and a forced close.
    const signal = userSignal ? AbortSignal.any([userSignal, this.#stop.signal]) : this.#stop.signal
    this.#jobs++
    // Measured only while instrumented: the clock is read nowhere else.
    const report = executorJob
    const queuedAt = report === undefined ? 0 : seconds()
    try {
      await this.#slots.acquire({ signal })
    } catch (error) {
      this.#jobDone()
      report?.(job.task, this.#name, queuedAt, undefined, signal)
      throw error
    }
    this.#running++
    let running: Promise<unknown>
    try {
      running = this.#runner.run(job, signal)
    } catch (error) {
      running = Promise.reject(error)
    }
    // The slot is freed when the runner is done with it, not when the caller gave up.
    running.then(this.#free, this.#free)
    report?.(job.task, this.#name, queuedAt, running, signal)
    return settleOrAbort(running, signal)
  }

  readonly #free = (): void => {
    this.#running--
    this.#slots.release()
    this.#jobDone()
  }

  #jobDone(): void {
    this.#jobs--
    if (this.#jobs === 0) this.#idle?.resolve()
  }

  async #close(): Promise<void> {
    if (this.#jobs > 0 && !this.#stop.signal.aborted) {
      this.#idle = Promise.withResolvers()
      const forced = new Promise<void>((resolve) =>
        this.#stop.signal.addEventListener('abort', () => resolve(), { once: true })
      )
      // A forced close does not wait for abandoned inline jobs: they cannot be stopped.
      await Promise.race([this.#idle.promise, forced])
    }
    await this.#runner.close()
  }
}

/** `promise`'s outcome, unless `signal` aborts first: then its reason. */
function settleOrAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      }
    )
  })
}
