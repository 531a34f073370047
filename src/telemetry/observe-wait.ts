// How a parked wait of a named primitive is reported. Kept out of src/sync: `setInstrumentation`
// hands this function to the waiter through the `observeWait` slot, so a bundle that never
// installs an instrumentation carries none of it (the Workers bundle budget).
import { instrumentation, type WaitRecord } from './instrumentation.ts'
import type { WaitOutcome } from './names.ts'

/**
 * A wait reported to the instrumentation: started now, in the caller's context, and ended
 * exactly once when the promise `start()` returns settles (one more microtask turn for the
 * caller, paid only by named primitives while instrumented). Late aborts are seen as what
 * they are, because the waiter has already turned them into rejections by then. `park()`
 * does this itself; a primitive whose wait goes on after the grant (a queue putter with a
 * signal, which may still find the queue shut down) wraps the whole of it instead.
 */
export function observe<T>(
  what: string,
  name: string,
  signal: AbortSignal | undefined,
  start: () => Promise<T>
): Promise<T> {
  const dot = what.indexOf('.')
  const paren = what.indexOf('(', dot)
  let record: WaitRecord | undefined
  try {
    record = instrumentation?.startWait(
      what.slice(0, dot),
      what.slice(dot + 1, paren < 0 ? what.length : paren),
      name
    )
  } catch {
    // A failing instrumentation must not fail the wait.
  }
  const promise = start()
  if (record === undefined) return promise
  const wait = record
  return promise.then(
    (value) => {
      endWait(wait, 'acquired', undefined)
      return value
    },
    (error: unknown) => {
      endWait(wait, waitOutcome(error, signal), error)
      throw error
    }
  )
}

function endWait(record: WaitRecord, outcome: WaitOutcome, error: unknown): void {
  try {
    record.end(outcome, error)
  } catch {
    // The grant was made: an instrumentation error must not lose it.
  }
}

/** How a rejected wait ended, told by the error's name (no import of the primitives). */
function waitOutcome(error: unknown, signal: AbortSignal | undefined): WaitOutcome {
  if (signal?.aborted && error === signal.reason) return 'aborted'
  const name = (error as { name?: unknown } | null)?.name
  if (name === 'StalledWaitError') return 'stalled'
  if (name === 'QueueShutDown') return 'shutdown'
  if (name === 'BrokenBarrierError') return 'broken'
  return 'error'
}
