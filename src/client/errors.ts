import { TimeoutError } from '../tasks/timeout-error.ts'

// Every way a client call fails on its own account has a class, so a handler can answer
// each one as it means (a full queue is a 503, a timeout a 504) without reading messages.

/** Base class of the errors the client throws itself (not those of `fetch`). */
export class ClientError extends Error {
  override name = 'ClientError'
}

/** Too many calls were already waiting for a permit (`limit.maxQueue`). */
export class ClientQueueFullError extends ClientError {
  override name = 'ClientQueueFullError'
  /** The origin the call was for. */
  readonly origin: string
  /** The queue bound that was reached. */
  readonly maxQueue: number

  constructor(origin: string, maxQueue: number) {
    super(`client queue full: ${maxQueue} calls already wait for a permit (call to ${origin})`)
    this.origin = origin
    this.maxQueue = maxQueue
  }
}

/** The client was closed: the call was refused, or aborted by `close()`. */
export class ClientClosedError extends ClientError {
  override name = 'ClientClosedError'
}

/** The origin's circuit is open (or half-open with its probe out): the call failed fast. */
export class CircuitOpenError extends ClientError {
  override name = 'CircuitOpenError'
  readonly origin: string
  /** When (epoch ms) the circuit lets a probe through. */
  readonly retryAt: number

  constructor(origin: string, retryAt: number) {
    super(`circuit open for ${origin} until ${new Date(retryAt).toISOString()}`)
    this.origin = origin
    this.retryAt = retryAt
  }
}

/**
 * A client time limit passed: `total`, `attempt`, or the call's `deadline` (a retry that
 * could not finish before it). It is a `TimeoutError`, so `isTimeoutError()` and handlers
 * written for `deadline()` and `timeout()` recognise it.
 */
export class ClientTimeoutError extends TimeoutError {
  override name = 'TimeoutError'
  /** Which limit passed. */
  readonly kind: 'total' | 'attempt' | 'deadline'

  constructor(kind: 'total' | 'attempt' | 'deadline', message: string) {
    super(message)
    this.kind = kind
  }
}

/** A final response that is not `ok`, thrown when `raiseForStatus` is on. */
export class ClientResponseError extends ClientError {
  override name = 'ClientResponseError'
  /** The response status. */
  readonly status: number
  /**
   * The response, for its status and headers. Its body was already cancelled, so that its
   * permit and connection are free whether or not the caller looks at it.
   */
  readonly response: Response

  constructor(response: Response, method: string) {
    super(`${method} ${response.url || '(url)'} answered ${response.status} ${response.statusText}`)
    this.status = response.status
    this.response = response
  }
}
