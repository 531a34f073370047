/** `run()` found every thread busy and the backlog at its `maxQueue` limit. Retry later. */
export class ExecutorQueueFull extends Error {
  override name = 'ExecutorQueueFull'
}

/** `run()` on an executor that is not running: not started yet, or closed. */
export class ExecutorClosed extends Error {
  override name = 'ExecutorClosed'
}

/**
 * A task failed: it threw, its module has no such task, or its thread died. `message` is the
 * task's own message; `cause` is the task's error as it was thrown, rebuilt on this side of
 * the thread boundary with its `name`, `message`, `stack` (the task's frames) and `code`.
 */
export class ExecutorTaskError extends Error {
  override name = 'ExecutorTaskError'
  /** The task that failed. */
  readonly task: string

  constructor(task: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.task = task
  }
}
