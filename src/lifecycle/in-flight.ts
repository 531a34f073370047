/**
 * Counts handler runs that have not finished, so that a shutdown waits for handlers and
 * not only for connections: a handler whose client has gone may still be working, and
 * cleanup must not pull resources from under it. Synchronous responses cost nothing;
 * an async one costs a counter and one `then`.
 *
 * @example
 * ```ts
 * const requests = new InFlight()
 * const response = requests.track(app.fetch(request))
 * await requests.idle()
 * ```
 */
export class InFlight {
  #count = 0
  #idle: PromiseWithResolvers<void> | undefined
  readonly #settle = () => {
    if (--this.#count === 0 && this.#idle) {
      this.#idle.resolve()
      this.#idle = undefined
    }
  }

  /** Handler runs still going. */
  get count(): number {
    return this.#count
  }

  /** Counts `result` until it settles when it is a promise; returns it unchanged. */
  track<T>(result: T | Promise<T>): T | Promise<T> {
    if (result instanceof Promise) {
      this.#count++
      result.then(this.#settle, this.#settle)
    }
    return result
  }

  /** Resolves once no handler is running. */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve()
    this.#idle ??= Promise.withResolvers()
    return this.#idle.promise
  }
}
