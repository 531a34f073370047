import { HTTPException } from 'hono/http-exception'
import { replaceBody } from './replace-body.ts'

/** Default longest wait for a complete request head (request line and headers). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000
/** Default longest wait for the next chunk of a request body while the handler reads it. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000

/**
 * Bodies declared at most this long are not wrapped in a guarding stream: they arrive in a
 * packet or a few, and the wrapper (a Request copy and a stream per request) cost Node's
 * POST /echo about 4× its CPU and held memory under load (bench/http). Node bounds them
 * with its socket inactivity timeout instead; Deno and Bun leave them to the client
 * (guarding them there cost POST /echo ~40 % more CPU on Deno, measured).
 */
export const SMALL_BODY_BYTES = 64 * 1024

/** Whether a body declared `contentLength` long (`null`: chunked) gets the stream guard. */
export function guardsBody(contentLength: string | null | undefined): boolean {
  return contentLength == null || !(Number(contentLength) <= SMALL_BODY_BYTES)
}

/**
 * The client stopped sending its request body: nothing arrived for `bodyTimeout` ms while
 * the handler was waiting to read it. An `HTTPException` (408), so `errorHandler` and
 * Hono's default handler answer 408; the adapters answer 408 with `Connection: close`
 * whatever the handler made of it, since the body it saw is incomplete.
 */
export class BodyTimeoutError extends HTTPException {
  override readonly name = 'BodyTimeoutError'
  /** The inactivity allowed, in ms. */
  readonly timeout: number
  constructor(timeout: number) {
    super(408, { message: `Request Timeout: no request body data for ${timeout} ms` })
    this.timeout = timeout
  }
}

/**
 * Guards one request body against a client that stops sending: every read the handler
 * makes waits at most `timeout` ms for the next chunk, then the body errors with a
 * `BodyTimeoutError`. Time spent while nobody reads does not count (the stream pulls only
 * on demand), so a handler that answers without reading the body is never timed out.
 * Costs one timer per chunk read, and only for requests whose body had not fully arrived.
 */
export class BodyTimeout {
  /** Set once the body has been failed for inactivity: the response must be a 408. */
  timedOut = false
  readonly #timeout: number

  constructor(timeout: number) {
    this.#timeout = timeout
  }

  /**
   * `body` wrapped: the same bytes, each read bounded by the timeout. With `cancelSource`,
   * the source is cancelled on expiry (Deno); without, it is left for the runtime to tear
   * down with the connection (Node, where cancelling would destroy the socket before the
   * 408 can be written).
   */
  wrap(body: ReadableStream<Uint8Array>, cancelSource: boolean): ReadableStream<Uint8Array> {
    const reader = body.getReader()
    const timeout = this.#timeout
    let failed = false
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const timer = setTimeout(() => {
            failed = true
            this.timedOut = true
            const error = new BodyTimeoutError(timeout)
            controller.error(error)
            if (cancelSource) reader.cancel(error).catch(() => {})
          }, timeout)
          // The reader's own result type: Bun's types declare it apart from the DOM's.
          let chunk: Awaited<ReturnType<typeof reader.read>>
          try {
            chunk = await reader.read()
          } catch (error) {
            if (!failed) controller.error(error)
            return
          } finally {
            clearTimeout(timer)
          }
          if (failed) return
          if (chunk.done) controller.close()
          else controller.enqueue(chunk.value)
        },
        cancel: (reason) => reader.cancel(reason),
      },
      // Pull only when the handler reads: waiting on a handler that is busy elsewhere is
      // not the client's fault.
      { highWaterMark: 0 }
    )
  }

  /**
   * The answer to send: the handler's, or, once the body timed out, a 408 with
   * `Connection: close` whatever the handler made of the incomplete body (a validator
   * turns a failed read into a 400).
   */
  answer(response: Response): Response {
    if (!this.timedOut) return response
    response.body?.cancel().catch(() => {})
    return new Response(
      JSON.stringify({ error: `Request Timeout: no request body data for ${this.#timeout} ms` }),
      {
        status: 408,
        headers: { 'content-type': 'application/json', connection: 'close' },
      }
    )
  }
}

/**
 * `request` with its body guarded by `guard`, or `request` itself when it has no body to
 * wait for. The copy keeps the method, URL, headers and `signal` (so a disconnect still
 * aborts it).
 */
export function withBodyTimeout(
  request: Request,
  guard: BodyTimeout,
  cancelSource: boolean
): Request {
  const body = request.body
  return body === null ? request : replaceBody(request, guard.wrap(body, cancelSource))
}
