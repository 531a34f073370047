// The thread side of a job, shared by the Node pool (piscina calls the default export) and
// the Web Worker host. Runtime-neutral: it only imports the task module by URL.

import type { JobMessage, Outcome } from './protocol.ts'
import { serializeError } from './protocol.ts'

/**
 * Runs one job in this thread; never throws (failures are returned as data).
 *
 * @example
 * ```ts
 * // piscina calls the default export of its `filename` with each task:
 * new Piscina({ filename: fileURLToPath(new URL('./task-host.ts', import.meta.url)) })
 * ```
 */
export default async function runJob({ module, task, arg }: JobMessage): Promise<Outcome> {
  try {
    // import() caches the module: only the first job of a thread pays for loading it.
    const tasks = (await import(module)) as Record<string, unknown>
    const fn = tasks[task]
    if (typeof fn !== 'function') throw new TypeError(`no task named "${task}" in ${module}`)
    return { ok: true, value: await fn(arg) }
  } catch (error) {
    return { ok: false, error: serializeError(error) }
  }
}
