import type { ExecutionContext } from 'hono'

/** Called with the reason of a `waitUntil` promise that rejected. */
export type WaitUntilErrorHandler = (error: unknown) => void

const logError: WaitUntilErrorHandler = (error) => {
  console.error('edgeio: waitUntil task failed:', error)
}

/**
 * The `ExecutionContext` that Node and Deno lack: `waitUntil` promises are tracked so a
 * graceful shutdown can await them. A rejection is reported, never an unhandled rejection
 * that would take the process down. One tracker serves every request of a server, so the
 * hot path allocates nothing for it.
 *
 * @example
 * ```ts
 * const tracker = new WaitUntilTracker()
 * app.fetch(request, env, tracker)
 * await tracker.drain()
 * ```
 */
export class WaitUntilTracker implements ExecutionContext {
  /** Workers' `ctx.props`; empty off Workers. */
  props: Record<string, unknown> = {}
  #pending = new Set<Promise<void>>()
  #onError: WaitUntilErrorHandler

  constructor(onError: WaitUntilErrorHandler = logError) {
    this.#onError = onError
  }

  /** How many `waitUntil` promises have not settled yet. */
  get pending(): number {
    return this.#pending.size
  }

  waitUntil(promise: Promise<unknown>): void {
    const tracked: Promise<void> = Promise.resolve(promise)
      .then(undefined, (error: unknown) => this.#onError(error))
      .then(() => {
        this.#pending.delete(tracked)
      })
    this.#pending.add(tracked)
  }

  /** Off Workers there is no origin to fall through to, so there is nothing to do. */
  passThroughOnException(): void {}

  /** Resolves once every tracked promise settled, including ones added while waiting. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending)
  }
}
