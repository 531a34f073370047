// What an executor reports per job, reached through the `executorJob` slot that
// `setInstrumentation` fills (as ./observe-wait.ts): bundles that never instrument leave it out.
import { instrumentation, seconds } from './instrumentation.ts'
import {
  ATTR_EXECUTOR_OUTCOME,
  ATTR_EXECUTOR_TASK,
  ATTR_NAME,
  METRIC_EXECUTOR_QUEUE_DURATION,
  METRIC_EXECUTOR_RUN_DURATION,
} from './names.ts'

function attributes(
  task: string,
  name: string | undefined,
  outcome?: string
): Record<string, string> {
  const result: Record<string, string> = { [ATTR_EXECUTOR_TASK]: task }
  if (name !== undefined) result[ATTR_NAME] = name
  if (outcome !== undefined) result[ATTR_EXECUTOR_OUTCOME] = outcome
  return result
}

/**
 * One executor job: its queue time (from `queuedAt`, in seconds) now, and its run time —
 * until the slot is free again — when `running` settles. `running` is `undefined` for a job
 * that left the queue without running (aborted while waiting for a worker).
 */
export function reportExecutorJob(
  task: string,
  name: string | undefined,
  queuedAt: number,
  running: Promise<unknown> | undefined,
  signal: AbortSignal
): void {
  const ins = instrumentation
  if (ins === undefined) return
  const startedAt = seconds()
  ins.record(METRIC_EXECUTOR_QUEUE_DURATION, startedAt - queuedAt, attributes(task, name))
  if (running === undefined) return
  const ran = (outcome: string) => (): void =>
    ins.record(METRIC_EXECUTOR_RUN_DURATION, seconds() - startedAt, attributes(task, name, outcome))
  running.then(ran('ok'), () => ran(signal.aborted ? 'cancelled' : 'error')())
}
