import { BodyTimeout, BodyTimeoutError } from './body-timeout.ts'

/**
 * Bounds the reads of small declared bodies on servers with no socket inactivity timeout
 * (Deno, Bun). Bodies declared at most SMALL_BODY_BYTES long skip the guarding stream (its
 * cost per request); Node closes a connection whose small body stalls, but `Deno.serve`
 * and `Bun.serve` show no connection to time out, so a handler reading such a body would
 * wait for as long as the client likes.
 *
 * Such a request gets a prototype (one per server) whose body readers (`json()`, `text()`,
 * …) register each read in a set. One interval, a quarter of `bodyTimeout`, running only
 * while reads are pending, fails those that have taken `bodyTimeout` with a
 * `BodyTimeoutError`, and the answer becomes the guard's 408. A read is bounded as a whole:
 * the body must arrive within `bodyTimeout` to `1.25 × bodyTimeout` of the read.
 * `request.body` gets the guarding stream (read by read). A prototype rather than own
 * properties: one shape change per request instead of seven (measured on Deno 2.9.6:
 * +0.05 µs for a request whose body is never read, +0.5 µs per read).
 */

/** What a server adds to the guard. */
export interface SmallBodyGuardOptions {
  /** Properties of the guarded requests' prototype besides the body readers (Deno's `signal`). */
  properties?: PropertyDescriptorMap
  /** Lets the process exit while the sweep runs (`Deno.unrefTimer`, `timer.unref()`). */
  unref?: (timer: ReturnType<typeof setInterval>) => void
}

/** The methods of a `Request` that read its whole body. */
const BODY_READERS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const
const SMALL_BODY = Symbol('edgeio.smallBody')
const GUARDED_STREAM = Symbol('edgeio.guardedStream')
const requestBody = Object.getOwnPropertyDescriptor(Request.prototype, 'body')?.get

interface SmallBodyRequest extends Request {
  [SMALL_BODY]: BodyTimeout
  [GUARDED_STREAM]?: ReadableStream<Uint8Array> | null
}

/** A read of a small declared body, failed by the sweep once it has taken `bodyTimeout`. */
interface PendingRead {
  readonly tick: number
  readonly guard: BodyTimeout
  readonly reject: (reason: unknown) => void
}

/**
 * The guard of one server: call it on a request with a small declared body (not `0`); it
 * returns the request's `BodyTimeout`, whose `answer()` makes the response a 408 once a read
 * timed out.
 *
 * @example
 * ```ts
 * const guardSmallBody = smallBodyGuard(30_000, { unref: (timer) => Deno.unrefTimer(timer) })
 * // per request with Content-Length 1..65536:
 * const guard = guardSmallBody(request)
 * return guard.answer(await service.fetch(request, env, ctx))
 * ```
 */
export function smallBodyGuard(
  bodyTimeout: number,
  options: SmallBodyGuardOptions = {}
): (request: Request) => BodyTimeout {
  const pending = new Set<PendingRead>()
  // Counts the sweeps: a read seen at tick t has waited more than 4 ticks at tick t + 5.
  let tick = 0
  let sweep: ReturnType<typeof setInterval> | undefined
  function sweepReads(): void {
    tick++
    for (const read of pending) {
      if (tick - read.tick < 5) continue
      pending.delete(read)
      read.guard.timedOut = true
      read.reject(new BodyTimeoutError(bodyTimeout))
    }
    if (pending.size === 0) {
      clearInterval(sweep)
      sweep = undefined
    }
  }
  function bounded<T>(guard: BodyTimeout, read: Promise<T>): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>()
    const entry: PendingRead = { tick, guard, reject }
    pending.add(entry)
    if (sweep === undefined) {
      sweep = setInterval(sweepReads, Math.max(5, bodyTimeout / 4))
      options.unref?.(sweep)
    }
    read.then(
      (value) => {
        pending.delete(entry)
        resolve(value)
      },
      (error: unknown) => {
        pending.delete(entry)
        reject(error)
      }
    )
    return promise
  }
  const proto = Object.create(Request.prototype, options.properties ?? {})
  for (const name of BODY_READERS) {
    const read = Request.prototype[name] as (this: Request) => Promise<unknown>
    Object.defineProperty(proto, name, {
      configurable: true,
      writable: true,
      value(this: SmallBodyRequest) {
        return bounded(this[SMALL_BODY], read.call(this))
      },
    })
  }
  Object.defineProperty(proto, 'body', {
    configurable: true,
    get(this: SmallBodyRequest) {
      if (this[GUARDED_STREAM] === undefined) {
        const body = requestBody?.call(this) as ReadableStream<Uint8Array> | null
        this[GUARDED_STREAM] = body === null ? null : this[SMALL_BODY].wrap(body, true)
      }
      return this[GUARDED_STREAM]
    },
  })
  return (request) => {
    const guard = new BodyTimeout(bodyTimeout)
    Object.setPrototypeOf(request, proto)
    ;(request as SmallBodyRequest)[SMALL_BODY] = guard
    return guard
  }
}
