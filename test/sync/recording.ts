// A recording Instrumentation for tests: every wait, measurement and annotation, in order.
import type { Attributes, Instrumentation } from '../../src/telemetry/instrumentation.ts'
import type { WaitOutcome } from '../../src/telemetry/names.ts'

export interface RecordedWait {
  readonly primitive: string
  readonly method: string
  readonly name: string | undefined
  /** Every `end()` call (a correct wait has exactly one once it is over). */
  readonly outcomes: WaitOutcome[]
  readonly errors: unknown[]
}

export interface Measurement {
  readonly metric: string
  readonly value: number
  readonly attributes: Attributes | undefined
}

export interface Recorder {
  readonly instrumentation: Instrumentation
  readonly waits: RecordedWait[]
  readonly added: Measurement[]
  readonly recorded: Measurement[]
  readonly annotations: Attributes[]
  /** Sum of `add()` for `metric` whose attributes include `where`. */
  sum(metric: string, where?: Attributes): number
}

export function recorder(): Recorder {
  const waits: RecordedWait[] = []
  const added: Measurement[] = []
  const recorded: Measurement[] = []
  const annotations: Attributes[] = []
  return {
    waits,
    added,
    recorded,
    annotations,
    instrumentation: {
      startWait(primitive, method, name) {
        const wait: RecordedWait = { primitive, method, name, outcomes: [], errors: [] }
        waits.push(wait)
        return {
          end(outcome, error) {
            wait.outcomes.push(outcome)
            wait.errors.push(error)
          },
        }
      },
      add(metric, value, attributes) {
        added.push({ metric, value, attributes })
      },
      record(metric, value, attributes) {
        recorded.push({ metric, value, attributes })
      },
      annotate(attributes) {
        annotations.push(attributes)
      },
    },
    sum(metric, where = {}) {
      let total = 0
      for (const m of added) {
        if (m.metric !== metric) continue
        if (Object.entries(where).every(([k, v]) => m.attributes?.[k] === v)) total += m.value
      }
      return total
    },
  }
}
