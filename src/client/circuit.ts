import { CircuitOpenError } from './errors.ts'
import type { CircuitOptions, CircuitSnapshot } from './types.ts'

// A hand-written three-state breaker rather than cockatiel: the client needs it per origin,
// checked before each attempt and fed after it, with its state readable; cockatiel's
// policies wrap a whole function call and would add a dependency for ~60 lines.

/** How one attempt ended, as the breaker counts it. */
export type AttemptOutcome = 'success' | 'failure' | 'neutral'

interface Circuit {
  failures: number
  /** 0 while closed; else when the cool-down ends (epoch ms). */
  openUntil: number
  /** Half-open with its one probe out. */
  probing: boolean
}

/**
 * Per-origin breakers. `enter` before an attempt (throws {@link CircuitOpenError} when the
 * attempt must fail fast), `leave` after it with its outcome.
 *
 * @example
 * ```ts
 * const breakers = new CircuitBreakers({ failures: 3, cooldownMs: 10_000 })
 * breakers.enter(origin)
 * breakers.leave(origin, res.status >= 500 ? 'failure' : 'success')
 * ```
 */
export class CircuitBreakers {
  readonly failures: number
  readonly cooldownMs: number
  readonly isFailure: (response: Response) => boolean
  readonly #circuits = new Map<string, Circuit>()
  readonly #now: () => number

  constructor(options: CircuitOptions = {}, now: () => number = Date.now) {
    this.failures = options.failures ?? 5
    this.cooldownMs = options.cooldownMs ?? 30_000
    this.isFailure = options.isFailure ?? ((response) => response.status >= 500)
    this.#now = now
    if (!Number.isInteger(this.failures) || this.failures < 1) {
      throw new RangeError('circuit.failures must be an integer >= 1')
    }
    if (!(this.cooldownMs >= 0)) throw new RangeError('circuit.cooldownMs must be >= 0')
  }

  /** The state of `origin`'s circuit (closed with no failures when never used). */
  snapshot(origin: string): CircuitSnapshot {
    const c = this.#circuits.get(origin)
    if (c === undefined) return { state: 'closed', failures: 0 }
    if (c.openUntil === 0) return { state: 'closed', failures: c.failures }
    if (c.probing || this.#now() >= c.openUntil) return { state: 'half-open', failures: c.failures }
    return { state: 'open', failures: c.failures, retryAt: c.openUntil }
  }

  /** Lets an attempt through, or throws when the circuit is open or its probe is out. */
  enter(origin: string): void {
    const c = this.#circuits.get(origin)
    if (c === undefined || c.openUntil === 0) return
    if (c.probing || this.#now() < c.openUntil) {
      throw new CircuitOpenError(origin, c.probing ? this.#now() : c.openUntil)
    }
    c.probing = true // the cool-down is over: this attempt is the probe
  }

  /** Counts an attempt that `enter` let through. */
  leave(origin: string, outcome: AttemptOutcome): void {
    let c = this.#circuits.get(origin)
    if (outcome === 'success') {
      // Closed with no failures is the same as no entry: keep the map small.
      if (c !== undefined) this.#circuits.delete(origin)
      return
    }
    if (outcome === 'neutral') {
      // An aborted probe proved nothing: let the next call probe.
      if (c !== undefined) c.probing = false
      return
    }
    if (c === undefined) {
      c = { failures: 0, openUntil: 0, probing: false }
      this.#circuits.set(origin, c)
    }
    c.failures++
    if (c.probing || c.failures >= this.failures) c.openUntil = this.#now() + this.cooldownMs
    c.probing = false
  }
}
