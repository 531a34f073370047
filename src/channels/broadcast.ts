import type { Context } from 'hono'
import { findServerScope } from '../runtime/server-scope.ts'
import { Queue, QueueFull, QueueShutDown } from '../sync/index.ts'

/** What a subscriber's full buffer does with the next message. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'disconnect'

export interface SubscribeOptions {
  /** Aborting unsubscribes at once: the buffer is dropped and iteration ends. */
  signal?: AbortSignal
  /** Messages held for a slow subscriber. Default 64. */
  bufferSize?: number
  /**
   * When the buffer is full: drop the oldest message (a live view: default), drop the new
   * one (a log's prefix), or disconnect the subscriber (its iteration throws
   * `SlowSubscriberError`, so it can reconnect and resync).
   */
  overflow?: OverflowPolicy
}

/** A subscriber disconnected because it fell a whole buffer behind. */
export class SlowSubscriberError extends Error {
  override name = 'SlowSubscriberError'
}

/** One subscriber's view of a `Broadcast`: an async iterable of the messages since it joined. */
export class Subscription<T> implements AsyncIterable<T> {
  readonly #buffer: Queue<T>
  readonly #overflow: OverflowPolicy
  readonly #signal: AbortSignal | undefined
  readonly #leave: () => void
  #failure: SlowSubscriberError | undefined
  /** Messages this subscriber lost to the overflow policy. */
  dropped = 0

  constructor(options: SubscribeOptions, leave: (subscription: Subscription<T>) => void) {
    this.#buffer = new Queue<T>({ maxsize: options.bufferSize ?? 64 })
    this.#overflow = options.overflow ?? 'drop-oldest'
    this.#signal = options.signal
    this.#leave = () => leave(this)
  }

  /** Called by the broadcast; never blocks the publisher. */
  deliver(message: T): void {
    try {
      this.#buffer.putNowait(message)
    } catch (error) {
      if (!(error instanceof QueueFull)) return // shut down: no longer listening
      this.dropped++
      if (this.#overflow === 'drop-newest') return
      if (this.#overflow === 'drop-oldest') {
        this.#buffer.getNowait()
        this.#buffer.putNowait(message)
        return
      }
      this.#failure = new SlowSubscriberError(
        `subscriber fell ${this.#buffer.maxsize} messages behind`
      )
      this.close()
    }
  }

  /** Stops listening: buffered messages are dropped and iteration ends. Idempotent. */
  close(): void {
    this.#leave()
    this.#buffer.shutdown(true)
  }

  /** Ends iteration once the rest is read (the broadcast closed). */
  end(): void {
    this.#leave()
    this.#buffer.shutdown(false)
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    try {
      for (;;) {
        let message: T
        try {
          message = await this.#buffer.get({ signal: this.#signal })
        } catch (error) {
          // Closed, or unsubscribed by the signal: either way the iteration just ends.
          if (error instanceof QueueShutDown || this.#signal?.aborted) break
          throw error
        }
        yield message
      }
      if (this.#failure) throw this.#failure
    } finally {
      this.close()
    }
  }
}

/**
 * A fan-out channel: every message published reaches every current subscriber, each with
 * a bounded buffer and its own overflow policy, so one slow reader never slows the
 * publisher or the others. Subscribers leave when their signal aborts (a client
 * disconnecting from a server-sent-events stream), without a trace, and are ended when the
 * server shuts down gracefully. Per process / isolate.
 *
 * @example
 * ```ts
 * const chat = new Broadcast<string>()
 * app.post('/say', async (c) => c.json({ heard: chat.publish(await c.req.text()) }))
 * app.get('/listen', (c) => streamSSE(c, async (sse) => {
 *   for await (const line of chat.subscribe(c)) {
 *     await sse.writeSSE({ data: line })
 *   }
 * }))
 * ```
 */
export class Broadcast<T> {
  readonly #subscribers = new Set<Subscription<T>>()
  #closed = false

  /** Current subscribers. */
  get size(): number {
    return this.#subscribers.size
  }

  /** Sends `message` to every subscriber; returns how many there were. */
  publish(message: T): number {
    if (this.#closed) throw new QueueShutDown('Broadcast is closed')
    for (const subscriber of this.#subscribers) subscriber.deliver(message)
    return this.#subscribers.size
  }

  /**
   * Joins the broadcast on behalf of the request `c`: the subscription ends when its client
   * leaves (the request's signal, unless `options.signal` says otherwise), and when the
   * graceful shutdown of the server that serves the request begins, like `close()` of the
   * broadcast: what was sent is read, then the iteration ends, and so does a
   * server-sent-events stream written from it. Without a request, only `options.signal`
   * and `close()` end it.
   */
  subscribe(c: Context, options?: SubscribeOptions): Subscription<T>
  subscribe(options?: SubscribeOptions): Subscription<T>
  subscribe(
    first: Context | SubscribeOptions = {},
    second: SubscribeOptions = {}
  ): Subscription<T> {
    const c = isContext(first) ? first : undefined
    const options: SubscribeOptions = c
      ? { ...second, signal: second.signal ?? c.req.raw.signal }
      : (first as SubscribeOptions)
    let unwatchShutdown: (() => void) | undefined
    const subscription = new Subscription<T>(options, (s) => {
      this.#subscribers.delete(s)
      options.signal?.removeEventListener('abort', onAbort)
      unwatchShutdown?.()
    })
    const onAbort = () => subscription.close()
    if (this.#closed || options.signal?.aborted) {
      subscription.end()
      return subscription
    }
    this.#subscribers.add(subscription)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    if (c) unwatchShutdown = findServerScope(c)?.atShutdown(() => subscription.end())
    return subscription
  }

  /** Ends every subscription once it has read what it was sent; publishing then throws. */
  close(): void {
    this.#closed = true
    for (const subscriber of this.#subscribers) subscriber.end()
  }
}

/** A Hono context rather than an options object (whose properties are all optional). */
function isContext(value: Context | SubscribeOptions): value is Context {
  return typeof (value as Partial<Context>).req?.raw === 'object'
}
