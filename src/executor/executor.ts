import type { TaskArg, TaskModule, TaskName, TaskResult, TaskSource } from './tasks.ts'

/**
 * What a job's argument may move to its thread instead of copying: the kinds of the DOM's
 * `Transferable` that every runtime's types know (Workers' types have no `Transferable`).
 */
export type TransferableObject = ArrayBuffer | ReadableStream | WritableStream | TransformStream

export interface RunOptions {
  /**
   * Cancels the job. Already aborted: `run()` rejects at once. Queued: the job leaves the
   * backlog. Running: its thread is terminated (the inline executor can only abandon it).
   * Each case rejects with `signal.reason`.
   */
  signal?: AbortSignal | undefined
  /** Objects moved to the thread instead of copied (an `ArrayBuffer` of input, say). */
  transfer?: TransferableObject[] | undefined
}

export interface CloseOptions {
  /**
   * `false` (default): refuse new jobs, let queued and running jobs finish, then release
   * the threads. `true`: reject queued and running jobs with `ExecutorClosed` and terminate
   * the threads now.
   */
  force?: boolean
}

/**
 * Runs tasks of one task module away from the request's event loop: on a bounded pool of
 * threads where the runtime has them, inline where it does not (Workers). Jobs beyond the
 * pool size wait in a FIFO backlog of at most `maxQueue` jobs; past that `run()` rejects
 * with `ExecutorQueueFull` at once.
 */
export interface Executor<M extends TaskModule = TaskModule> {
  /**
   * Runs task `task` with `arg` and resolves with its result. Rejects with
   * `ExecutorTaskError` when the task throws, `ExecutorQueueFull` when the backlog is full,
   * `ExecutorClosed` when the executor is not running, or `signal.reason` when aborted.
   */
  run<K extends TaskName<M>>(
    task: K,
    arg: TaskArg<M, K>,
    options?: RunOptions
  ): Promise<TaskResult<M, K>>
  /** Stops the executor (see {@link CloseOptions}); resolves once its threads are gone. */
  close(options?: CloseOptions): Promise<void>
  /** How many jobs may run at once. */
  readonly size: number
  /** How many jobs may wait for a slot before `run()` refuses with `ExecutorQueueFull`. */
  readonly maxQueue: number
  /** Jobs holding a slot (an abandoned inline job holds it until it really ends). */
  readonly running: number
  /** Jobs waiting in the backlog. */
  readonly queued: number
}

export interface ExecutorOptions {
  /** Jobs running at once (threads). Default: the factory's (CPU count − 1 for threads, 1 inline). */
  size?: number
  /**
   * Jobs that may wait for a slot; the next one is refused with `ExecutorQueueFull`. `0`
   * means no backlog. Default `64 × size`: a full backlog already means a wait of 64 jobs.
   */
  maxQueue?: number
  /** Names the executor in telemetry (the `edgeio.name` attribute of its metrics). */
  name?: string | undefined
}

/**
 * Makes the executor of a task module on one runtime. The adapters supply theirs (threads
 * on Node, Web Workers on Deno, inline on Workers); it may load its machinery lazily.
 */
export type ExecutorFactory = <M extends TaskModule>(
  tasks: TaskSource<M>,
  options: ExecutorOptions
) => Executor<M> | Promise<Executor<M>>
