/**
 * A graceful drain for servers that show no connections (`Deno.serve`, `Bun.serve`): their
 * `shutdown()`/`stop()` stops accepting and closes every idle keep-alive connection at
 * once, so a request a client sends on one at that moment is reset (under 32 keep-alive
 * clients, 7–28 resets a run on Deno 2.9.6 and 9–12 on Bun 1.4.5). Node closes each
 * connection only after it stayed quiet itself; here the whole server goes quiet first:
 * every answer says `Connection: close`, answers to requests arriving during the drain are
 * held (their clients wait rather than reconnect), and `stop()` is called once no request
 * has arrived for DRAIN_QUIET_MS. It then closes only connections that carried nothing all
 * that time, and the held answers go out.
 */

/** How long no request may arrive before `stop()` (Node's adapter uses the same quiet). */
export const DRAIN_QUIET_MS = 250
/** The longest the drain waits for quiet: the latency a held answer can gain. */
const DRAIN_MAX_MS = 1_000

export interface QuietDrain {
  /** Whether the drain has begun. */
  readonly draining: boolean
  /** Begins the drain; resolves once `stop()` has been called and has resolved. */
  close(): Promise<void>
  /** Calls `stop()` now (the forced abort), letting the held answers go. */
  stopNow(): Promise<void>
  /**
   * The answer to a request that arrived during the drain, held until `stop()` was called
   * and saying `Connection: close`. A `101` (WebSocket) is not held: the upgrade happens
   * when it is returned.
   */
  hold(response: Response | Promise<Response>): Promise<Response>
}

/**
 * A drain that calls `stop` after a quiet window, both bounded by a quarter of
 * `shutdownTimeout` (a 300 ms timeout gets a 75 ms window), so the window never eats the
 * time in-flight requests have.
 *
 * @example
 * ```ts
 * const drain = quietDrain(() => server.shutdown(), 10_000)
 * const listener = { close: () => drain.close(), abort: () => void drain.stopNow() }
 * // per request:
 * return drain.draining ? drain.hold(answer) : answer
 * ```
 */
export function quietDrain(stop: () => Promise<void>, shutdownTimeout: number): QuietDrain {
  const maxMs = Math.min(DRAIN_MAX_MS, shutdownTimeout / 4)
  const quietMs = Math.min(DRAIN_QUIET_MS, maxMs)
  const stopCalled = Promise.withResolvers<void>()
  let draining = false
  let lastArrival = 0
  let stopped: Promise<void> | undefined
  let timer: ReturnType<typeof setTimeout> | undefined

  function stopNow(): Promise<void> {
    if (stopped === undefined) {
      clearTimeout(timer)
      stopped = stop()
      // The listener is closed (a client told to close now is refused on its next
      // connect): the held answers may go.
      stopCalled.resolve()
    }
    return stopped
  }
  return {
    get draining() {
      return draining
    },
    close() {
      draining = true
      const start = performance.now()
      lastArrival = start
      const wait = (ms: number) => {
        timer = setTimeout(() => {
          const now = performance.now()
          const quietFor = now - lastArrival
          if (quietFor >= quietMs || now - start >= maxMs) void stopNow()
          else wait(Math.min(quietMs - quietFor, maxMs - (now - start)))
        }, ms)
      }
      wait(quietMs)
      return stopCalled.promise.then(stopNow)
    },
    stopNow,
    async hold(response) {
      lastArrival = performance.now()
      const answer = await response
      if (answer.status === 101) return answer
      await stopCalled.promise
      return withConnectionClose(answer)
    },
  }
}

/**
 * `response` saying `Connection: close`, so that its client sends no further request on a
 * connection the shutdown is about to close.
 */
export function withConnectionClose(response: Response): Response {
  if (response.status === 101) return response
  try {
    response.headers.set('connection', 'close')
    return response
  } catch {
    // Immutable headers (a fetched or redirect response): the same answer, copied.
    const copy = new Response(response.body, response)
    copy.headers.set('connection', 'close')
    return copy
  }
}
