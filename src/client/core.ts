import { CircuitBreakers } from './circuit.ts'
import { ClientClosedError } from './errors.ts'
import { HostLimiter } from './limiter.ts'
import { policy, type RetryPolicy } from './retry.ts'
import type {
  ClientCloseOptions,
  ClientOptions,
  ClientRetryOptions,
  FetchFunction,
} from './types.ts'

// The state one client shares between its bound views (`client.for(c)`): limits, circuits,
// the calls in flight. Plain data and Semaphores only, so that in workerd the requests of an
// isolate can share one client (no promise of one request is awaited by another here).

/** A client's settings and shared state. Internal: the public face is `Client`. */
export class ClientCore {
  readonly limiter: HostLimiter
  readonly breakers: CircuitBreakers | undefined
  readonly retry: RetryPolicy
  readonly retryOptions: ClientRetryOptions | false | undefined
  readonly totalMs: number | undefined
  readonly attemptMs: number | undefined
  readonly headers: Headers | undefined
  readonly raiseForStatus: boolean
  readonly baseUrl: string | undefined
  readonly #fetch: FetchFunction | undefined
  /** The calls in flight (until their body is done), each as the function that aborts it. */
  readonly active: Set<(reason: unknown) => void> = new Set()
  closed = false
  #idle: (() => void)[] = []

  constructor(options: ClientOptions) {
    this.limiter = new HostLimiter(options.limit)
    const circuit = options.circuit
    this.breakers =
      circuit === undefined || circuit === false
        ? undefined
        : new CircuitBreakers(circuit === true ? {} : circuit)
    this.retryOptions = options.retry
    this.retry = options.retry === false ? policy({ limit: 0 }) : policy(options.retry)
    this.totalMs = positive(options.timeout?.total, 'timeout.total')
    this.attemptMs = positive(options.timeout?.attempt, 'timeout.attempt')
    this.headers = options.headers === undefined ? undefined : new Headers(options.headers)
    this.raiseForStatus = options.raiseForStatus ?? false
    this.baseUrl = options.baseUrl === undefined ? undefined : String(options.baseUrl)
    this.#fetch = options.fetch
  }

  /** The fetch of this client; `globalThis.fetch` is read per call so tests can stub it. */
  fetch(input: Request | string | URL, init: RequestInit): Promise<Response> {
    return (this.#fetch ?? globalThis.fetch)(input, init)
  }

  /** Counts a call out; wakes `close()` when the last one is done. */
  finished(abort: (reason: unknown) => void): void {
    this.active.delete(abort)
    if (this.active.size === 0 && this.#idle.length > 0) {
      const idle = this.#idle
      this.#idle = []
      for (const wake of idle) wake()
    }
  }

  /** Refuses new calls, lets those in flight finish for `timeoutMs`, then aborts them. */
  async close(options: ClientCloseOptions = {}): Promise<void> {
    this.closed = true
    const timeoutMs = options.timeoutMs ?? 10_000
    if (this.active.size > 0 && timeoutMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        this.#idle.push(resolve)
        timer = setTimeout(resolve, timeoutMs)
      })
      clearTimeout(timer)
    }
    const reason = new ClientClosedError('client closed: call aborted')
    // Each call counts itself out synchronously as it is aborted, so the set is empty once
    // this loop is through.
    for (const abort of [...this.active]) abort(reason)
    // A fetch with a pool of its own (nodeFetch) goes with its client: its sockets close.
    const close = (this.#fetch as { close?: unknown } | undefined)?.close
    if (typeof close === 'function') await (close as () => Promise<void>).call(this.#fetch)
  }
}

function positive(ms: number | undefined, what: string): number | undefined {
  if (ms === undefined) return undefined
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`${what} must be a positive number`)
  return ms
}
