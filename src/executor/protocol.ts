// What crosses a thread boundary: a job one way, an outcome the other. Errors travel as
// plain data because structured cloning keeps only some of an error (no `code`, and
// custom error classes come back as plain `Error`).

import { ExecutorTaskError } from './errors.ts'

/** A job as a thread receives it. */
export interface JobMessage {
  /** URL of the task module. */
  module: string
  task: string
  arg: unknown
}

/** An error as plain, clonable data. */
export interface SerializedError {
  name: string
  message: string
  stack?: string | undefined
  code?: unknown
  cause?: SerializedError | undefined
}

/** What a thread answers. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: SerializedError }

/**
 * Turns anything thrown into clonable data, keeping the cause chain (a few levels).
 *
 * @example
 * ```ts
 * port.postMessage({ ok: false, error: serializeError(error) } satisfies Outcome)
 * ```
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error.cause !== undefined && depth < 4
      ? { cause: serializeError(error.cause, depth + 1) }
      : {}),
  }
}

/**
 * Rebuilds an `Error` with the serialized name, message, stack, code and cause.
 *
 * @example
 * ```ts
 * const error = deserializeError(outcome.error) // error.stack: the thread's frames
 * ```
 */
export function deserializeError(data: SerializedError): Error {
  const error = new Error(
    data.message,
    data.cause === undefined ? undefined : { cause: deserializeError(data.cause) }
  )
  error.name = data.name
  if (data.stack !== undefined) error.stack = data.stack
  if (data.code !== undefined) Object.assign(error, { code: data.code })
  return error
}

/**
 * The value of an outcome, or its error as an `ExecutorTaskError`: what a runner returns.
 *
 * @example
 * ```ts
 * const value = unwrapOutcome(job.task, await pool.run(message))
 * ```
 */
export function unwrapOutcome(task: string, outcome: Outcome): unknown {
  if (outcome.ok) return outcome.value
  throw new ExecutorTaskError(task, deserializeError(outcome.error))
}
