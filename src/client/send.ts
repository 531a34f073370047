import { armedDeadlines } from '../middleware/deadline/armed.ts'
import { sleep } from '../tasks/sleep.ts'
import { discard, onBodyDone } from './body.ts'
import type { ClientCore } from './core.ts'
import { ClientClosedError, ClientResponseError, ClientTimeoutError } from './errors.ts'
import type { Release } from './limiter.ts'
import { originOf } from './origin.ts'
import { backoff, isReplayable, mayRetry, merge, retryAfterMs } from './retry.ts'
import { type AttemptTrace, traceAttempt } from './trace.ts'
import type { CallInit, CallScope } from './types.ts'

// One call: resolve the request, then attempt → decide → wait → attempt. Every attempt
// holds its own permits (so a waiting retry does not block others) and enters the circuit.
//
// Each call gets one AbortController carrying every reason to stop it (the caller's signal,
// the bound request's signal, the total timeout or deadline, close()), linked with
// listeners, not AbortSignal.any (which Node builds with weak references, ~10x the cost).
// Not one signal shared by the client's calls: undici adds a listener of its own to the
// signal of every fetch, so a long-lived shared signal collects them, and it measured
// slower (1.39 x bare fetch per call against 1.13 x with a controller per call). An
// attempt timeout aborts that controller alone (the call goes on: it may be retried) and
// the call takes a new one, rather than each attempt having a child controller linked to
// the call's: one controller and no listener per attempt. fetch always gets the call's
// current signal, so every abort closes the connection, body included.
//
// The common call (a string URL, no init, no timeout) is kept to what it needs, each item
// measured with `--cpu-prof` on Node 24: fetch is given an init holding only what the call
// set (undici's Request constructor converts every member it is given), nothing listens
// to the call's own signal (whoever aborts it also ends the call), no closure or array is
// made that only a retry, a deadline or a caller's signal needs.

type Input = Request | string | URL

/** One call's state: one object, its two callbacks made once (not a closure per use). */
class Call {
  /**
   * The signal of the attempt in flight (of the body once returned, of the wait before a
   * retry). One per call unless an attempt timeout fires: that aborts only this controller,
   * and the next attempt gets a new one. Every other abort is the call's (`abort`).
   */
  controller = new AbortController()
  /** Set by `abort`: the call is over, with `reason`. */
  aborted = false
  reason: unknown = undefined
  done = false
  /** The permits of the attempt whose response was returned, held until its body is done. */
  held: Release | undefined = undefined
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  callSignal: AbortSignal | undefined = undefined
  scopeSignal: AbortSignal | undefined = undefined
  /** Ends the call at once (close(), a timer, a caller's abort): aborts fetch, frees all. */
  readonly abort = (reason: unknown): void => {
    if (!this.aborted) {
      this.aborted = true
      this.reason = reason
    }
    this.controller.abort(reason)
    this.finish()
  }
  /** Counts the call out and frees its permits (idempotent). */
  readonly finish = (): void => {
    if (this.done) return
    this.done = true
    this.held?.()
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.onAbort !== undefined) {
      this.callSignal?.removeEventListener('abort', this.onAbort)
      this.scopeSignal?.removeEventListener('abort', this.onAbort)
    }
    this.core.finished(this.abort)
  }
  /** Follows the caller's and the bound request's signals (made only when there is one). */
  onAbort: ((event: Event) => void) | undefined = undefined
  /** The call's end (epoch ms) and what passing it is called. */
  end = Number.POSITIVE_INFINITY
  endKind: 'total' | 'deadline' = 'total'
  /** The end is the bound request's deadline (`client.for(c)` under `deadline()`). */
  endIsScope = false
  totalMs: number | undefined
  origin: string
  readonly core: ClientCore

  constructor(core: ClientCore, origin: string) {
    this.core = core
    this.origin = origin
  }

  follow(signal: AbortSignal): void {
    this.onAbort ??= (event) => this.abort((event.target as AbortSignal).reason)
    signal.addEventListener('abort', this.onAbort, { once: true })
  }

  ended(): ClientTimeoutError {
    return this.endKind === 'total'
      ? new ClientTimeoutError(
          'total',
          `client: total timeout of ${this.totalMs} ms passed (${this.origin})`
        )
      : new ClientTimeoutError('deadline', `client: the call's deadline passed (${this.origin})`)
  }

  /**
   * Waits `ms` before the next attempt, unless that would pass the call's end: then the
   * retry is not attempted and the call fails with the end's error (the deadline's).
   */
  async pause(ms: number): Promise<void> {
    if (this.aborted) throw this.reason
    if (Date.now() + ms >= this.end) throw this.ended()
    // The last attempt's timeout aborted its controller: the rest of the call needs another.
    if (this.controller.signal.aborted) this.controller = new AbortController()
    await sleep(ms, { signal: this.controller.signal })
  }
}

/** Sends one call through `core`'s limits, timeouts, retries and circuits. */
export async function send(
  core: ClientCore,
  input: Input,
  init: CallInit | undefined,
  scope: CallScope | undefined
): Promise<Response> {
  if (core.closed) throw new ClientClosedError('client closed: call refused')
  let json: unknown
  let timeout: CallInit['timeout']
  let retryOption: CallInit['retry']
  let callDeadline: number | undefined
  let raise: boolean | undefined
  let callSignal: AbortSignal | null | undefined
  /** What fetch is given: only what the call set, plus the signal. */
  let fetchInit: RequestInit
  if (init === undefined) {
    fetchInit = {}
  } else {
    ;({
      json,
      timeout,
      retry: retryOption,
      deadline: callDeadline,
      raiseForStatus: raise,
      signal: callSignal,
      ...fetchInit
    } = init)
  }
  const request = input instanceof Request ? input : undefined
  // fetch gets a string: undici parses a URL object again from its string, at a cost.
  let target: Request | string
  let href: string
  let origin: string
  if (request !== undefined) {
    target = request
    href = request.url
    origin = new URL(href).origin
  } else if (typeof input === 'string' && core.baseUrl === undefined) {
    target = href = input
    origin = originOf(input) ?? new URL(input).origin
  } else {
    const url = new URL(input as string | URL, core.baseUrl)
    target = href = url.href
    origin = url.origin
  }
  const method = (fetchInit.method ?? request?.method ?? 'GET').toUpperCase()
  if (fetchInit.method !== undefined) fetchInit.method = method
  if (json !== undefined || core.headers !== undefined) {
    const merged = new Headers(core.headers)
    for (const [k, v] of new Headers(fetchInit.headers ?? request?.headers)) merged.set(k, v)
    if (json !== undefined) {
      fetchInit.body = JSON.stringify(json)
      if (!merged.has('content-type')) merged.set('content-type', 'application/json')
    }
    fetchInit.headers = merged
  }
  const headers = fetchInit.headers
  const body = fetchInit.body
  const p = merge(core.retry, core.retryOptions, retryOption)
  const replayable = body == null ? request?.body == null : isReplayable(body)
  const retries = replayable && mayRetry(method, headers ?? request?.headers, p) ? p.limit : 0
  const attemptMs = timeout?.attempt ?? core.attemptMs
  const totalMs = timeout?.total ?? core.totalMs

  const call = new Call(core, origin)
  // The call's end: the earliest of the total timeout and the deadlines it was given.
  const start =
    totalMs !== undefined || callDeadline !== undefined || scope?.deadline ? Date.now() : 0
  if (totalMs !== undefined) {
    call.end = start + totalMs
    call.totalMs = totalMs
  }
  if (callDeadline !== undefined && callDeadline < call.end) {
    call.end = callDeadline
    call.endKind = 'deadline'
  }
  const scopeDeadline = scope?.deadline
  if (scopeDeadline !== undefined && scopeDeadline < call.end) {
    call.end = scopeDeadline
    call.endKind = 'deadline'
    call.endIsScope = true
  }
  if (call.end <= start) throw call.ended()
  const scopeSignal = scope?.signal ?? undefined
  if (callSignal?.aborted) throw callSignal.reason
  if (scopeSignal?.aborted) throw scopeSignal.reason

  if (callSignal != null) {
    call.callSignal = callSignal
    call.follow(callSignal)
  }
  if (scopeSignal !== undefined) {
    call.scopeSignal = scopeSignal
    call.follow(scopeSignal)
  }
  if (call.end !== Number.POSITIVE_INFINITY) {
    call.timer = setTimeout(endCall, call.end - start, call)
  }
  // close() aborts the call through the same function.
  core.active.add(call.abort)

  const breakers = core.breakers
  try {
    for (let attempt = 1; ; attempt++) {
      breakers?.enter(origin)
      const signal = call.controller.signal
      let release: Release
      try {
        const permit = core.limiter.acquire(origin, signal)
        release = typeof permit === 'function' ? permit : await permit
      } catch (error) {
        breakers?.leave(origin, 'neutral')
        throw error
      }
      // An attempt timeout aborts this attempt's controller only (see Call.controller).
      let attemptTimer: ReturnType<typeof setTimeout> | undefined
      if (attemptMs !== undefined) {
        attemptTimer = setTimeout(endAttempt, attemptMs, call.controller, attempt, attemptMs)
      }
      fetchInit.signal = signal
      const traced: AttemptTrace | undefined = traceAttempt(
        method,
        href,
        attempt,
        headers ?? request?.headers
      )
      if (traced !== undefined || fetchInit.headers !== headers) {
        fetchInit.headers = traced?.headers ?? headers
      }
      let response: Response
      try {
        response = await core.fetch(target, fetchInit)
      } catch (error) {
        clearTimeout(attemptTimer)
        release()
        if (call.aborted) {
          traced?.end(undefined, call.reason)
          breakers?.leave(origin, 'neutral')
          throw call.reason
        }
        // Nothing but this attempt's timeout aborts its signal without aborting the call.
        const timedOut = signal.aborted
        const failure = timedOut ? signal.reason : error
        traced?.end(undefined, failure)
        if (!timedOut && !isNetworkError(error)) {
          breakers?.leave(origin, 'neutral')
          throw error
        }
        breakers?.leave(origin, 'failure')
        if (attempt > retries) throw failure
        await call.pause(backoff(attempt, p))
        continue
      }
      clearTimeout(attemptTimer)
      traced?.end(response)
      breakers?.leave(origin, breakers.isFailure(response) ? 'failure' : 'success')
      if (attempt <= retries && p.statusCodes.has(response.status)) {
        const asked = retryAfterMs(response.headers)
        if (asked === undefined || asked <= p.maxRetryAfterMs) {
          await discard(response)
          release()
          await call.pause(asked ?? backoff(attempt, p))
          continue
        }
      }
      if (!response.ok && (raise ?? core.raiseForStatus)) {
        await discard(response)
        release()
        throw new ClientResponseError(response, method)
      }
      call.held = release
      return onBodyDone(response, call.finish)
    }
  } catch (error) {
    call.finish()
    throw error
  }
}

/** The call's total timeout or deadline passed. */
function endCall(call: Call): void {
  // The request's deadline() is due to abort this call at this very instant, after deciding
  // on its 504: let it (see armedDeadlines), and look again in 1 ms in case it returned.
  if (call.endIsScope && call.scopeSignal !== undefined && armedDeadlines.has(call.scopeSignal)) {
    call.timer = setTimeout(endCall, 1, call)
    return
  }
  call.abort(call.ended())
}

/** An attempt's own timeout passed: that attempt is aborted (and may be retried). */
function endAttempt(controller: AbortController, attempt: number, ms: number): void {
  controller.abort(
    new ClientTimeoutError('attempt', `client: attempt ${attempt} took over ${ms} ms`)
  )
}

/** A failure of the network (fetch rejects with a TypeError), not of the caller's code. */
function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError
}
