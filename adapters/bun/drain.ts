/**
 * The drain's quiet window on Bun. `server.stop()` stops accepting and closes every idle
 * keep-alive connection at once, so a request a client sends on one at that moment is
 * reset: 9–12 of 32 keep-alive connections failed that way under load (measured with the
 * shutdown-under-load test, Bun 1.4.5). Bun shows no connections, so it cannot close one
 * after it stayed quiet, as Node does. Instead the whole server goes quiet first, as the
 * Deno adapter does: answers to requests arriving during the drain are held (their
 * clients wait rather than reconnect), and `stop()` is called once no request has arrived
 * for `DRAIN_QUIET_MS`; the held answers then go out, saying `Connection: close`.
 */

/** How long no request may arrive before `stop()` (Node's and Deno's DRAIN_QUIET_MS). */
const DRAIN_QUIET_MS = 250
/** The longest the drain waits for quiet: the latency a held answer can gain. */
const DRAIN_MAX_MS = 1_000

export interface QuietDrain {
  /** Whether the drain has begun. */
  readonly draining: boolean
  /** Begins the drain; resolves once `stop()` has been called and has resolved. */
  close(): Promise<void>
  /** Calls `stop()` now (the forced abort), letting the held answers go. */
  stopNow(): Promise<void>
  /** The answer to a request that arrived during the drain: held until `stop()` was called. */
  hold(response: Promise<Response>): Promise<Response>
}

/**
 * A drain that calls `stop` after a quiet window, both bounded by a quarter of
 * `shutdownTimeout` (a 300 ms timeout gets a 75 ms window).
 *
 * @example
 * ```ts
 * const drain = quietDrain(() => server.stop(), 10_000)
 * const listener = { close: () => drain.close(), abort: () => void drain.stopNow() }
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
      await stopCalled.promise
      return answer
    },
  }
}
