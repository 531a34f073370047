// The core's only telemetry dependency: a slot that instrumented code reads with one load and
// a branch. Nothing here knows OpenTelemetry; `instrument()` (./instrument.ts) fills the slot
// with an implementation over `@opentelemetry/api`, and tests fill it with a recording fake.

import { reportExecutorJob } from './executor-job.ts'
import type { WaitOutcome } from './names.ts'
import { observe } from './observe-wait.ts'

/** An attribute value, as OpenTelemetry takes it (without arrays: edgeio reports none). */
export type AttributeValue = string | number | boolean
/** Attributes of a span or a measurement. */
export type Attributes = Readonly<Record<string, AttributeValue>>

/** One wait in progress; ended exactly once. */
export interface WaitRecord {
  /** The wait ended; `error` is what it rejected with (for `'error'`, the span's status). */
  end(outcome: WaitOutcome, error?: unknown): void
}

/**
 * What edgeio reports to. Calls happen only on slow paths (a wait that parks, a refusal, a
 * job attempt…), and only while an instrumentation is installed.
 */
export interface Instrumentation {
  /**
   * A wait of a named primitive parked: `primitive` is the class (`'Semaphore'`), `method`
   * the method (`'acquire'`), `name` the primitive's name. Called synchronously in the
   * waiting caller's context, before the caller is suspended. Returns `undefined` when
   * there is nothing to record (no SDK): the wait then goes on unobserved, at no cost.
   */
  startWait(primitive: string, method: string, name: string | undefined): WaitRecord | undefined
  /** Adds `value` to the counter (or up-down counter) `metric` (see ./names.ts). */
  add(metric: string, value: number, attributes?: Attributes): void
  /** Records `value` (seconds, for durations) in the histogram `metric`. */
  record(metric: string, value: number, attributes?: Attributes): void
  /** Sets attributes on the active span (the request's span in a middleware), if any. */
  annotate(attributes: Attributes): void
}

/**
 * The installed instrumentation, or `undefined` (the default: nothing is reported and the
 * instrumented sites cost one load and a branch). Read it as a live binding.
 */
export let instrumentation: Instrumentation | undefined

/** Reports one parked wait of a named primitive (./observe-wait.ts). */
export type ObserveWait = <T>(
  what: string,
  name: string,
  signal: AbortSignal | undefined,
  start: () => Promise<T>
) => Promise<T>

/**
 * Set with {@link instrumentation}: what the waiter calls for a named primitive's wait.
 * Reached only through `setInstrumentation`, so bundles that never install one leave the
 * reporting code out.
 */
export let observeWait: ObserveWait | undefined

/** Set with {@link instrumentation}: what an executor calls per job (./executor-job.ts). */
export let executorJob: typeof reportExecutorJob | undefined

/**
 * Installs `next` (or removes any with `undefined`) and returns the previous one.
 * `instrument()` calls this for you; use it directly to report to something other than
 * OpenTelemetry, or to record in tests.
 *
 * @example
 * ```ts
 * const previous = setInstrumentation({
 *   startWait: (primitive, method, name) => ({ end: (outcome) => log(primitive, method, name, outcome) }),
 *   add: (metric, value) => counters.add(metric, value),
 *   record: () => {},
 *   annotate: () => {},
 * })
 * ```
 */
export function setInstrumentation(next: Instrumentation | undefined): Instrumentation | undefined {
  const previous = instrumentation
  instrumentation = next
  observeWait = next === undefined ? undefined : observe
  executorJob = next === undefined ? undefined : reportExecutorJob
  return previous
}

/**
 * The installed instrumentation, or `undefined`.
 *
 * @example
 * ```ts
 * if (currentInstrumentation() === undefined) instrument({ meterProvider })
 * ```
 */
export function currentInstrumentation(): Instrumentation | undefined {
  return instrumentation
}

/** A monotonic clock in seconds, for the durations the sites measure themselves. */
export function seconds(): number {
  return performance.now() / 1000
}

/**
 * A decision of a middleware: counted in `metric` and set on the request's span. Call it
 * only with an instrumentation installed (`if (instrumentation) decided(...)`).
 */
export function decided(
  ins: Instrumentation,
  metric: string,
  attributes: Attributes,
  spanAttributes: Attributes = attributes
): void {
  ins.add(metric, 1, attributes)
  ins.annotate(spanAttributes)
}
