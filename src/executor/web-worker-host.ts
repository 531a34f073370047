// Entry point of each Web Worker of `createWebWorkerExecutor`: one job at a time.

import type { JobMessage } from './protocol.ts'
import { serializeError } from './protocol.ts'
import runJob from './task-host.ts'

interface WorkerScope {
  onmessage: ((event: MessageEvent<JobMessage>) => void) | null
  postMessage(message: unknown): void
}

const scope = globalThis as unknown as WorkerScope
scope.onmessage = async (event) => {
  const outcome = await runJob(event.data)
  try {
    scope.postMessage(outcome)
  } catch (error) {
    // The result cannot be cloned (it holds a function, say): that is the task's failure.
    scope.postMessage({ ok: false, error: serializeError(error) })
  }
}
