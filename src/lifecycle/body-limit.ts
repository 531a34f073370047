/**
 * The request body limit every `Service` enforces (default 1 MiB, aiohttp's
 * `client_max_size`) and `bodyLimit()` raises or lowers per route.
 *
 * It costs nothing on requests that have no body to limit (GET, HEAD) and on those whose
 * `Content-Length` is within the limit: Node, Deno and workerd never hand a handler more
 * bytes than the `Content-Length` its request declared, so such a body cannot pass the
 * limit. Any other request (a chunked body, or one declaring more than the limit) gets a
 * counting body that reads the limit *when it is read*, so a route's `bodyLimit()`, which
 * runs after the service has wrapped the request, still changes it. Reading past the limit
 * (or starting to read a body whose `Content-Length` is over it, before reading a byte of
 * it) fails with a `PayloadTooLargeError`, which `errorHandler` answers with a 413.
 */
import { HTTPException } from 'hono/http-exception'
import { replaceBody } from './replace-body.ts'

/** The default limit of a `Service`: 1 MiB, as aiohttp's `client_max_size`. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/**
 * A request body over its limit: an `HTTPException` with status 413, whose message names
 * the limit (`errorHandler` answers `{"error": "Payload Too Large: the limit is … bytes"}`).
 */
export class PayloadTooLargeError extends HTTPException {
  /** The limit the body passed, in bytes. */
  readonly limit: number

  constructor(limit: number) {
    super(413, { message: `Payload Too Large: the limit is ${limit} bytes` })
    this.name = 'PayloadTooLargeError'
    this.limit = limit
  }
}

/** One limited request: what its counting body reads. */
interface BodyLimitState {
  /** Read on every chunk: `bodyLimit()` changes it after the service wrapped the request. */
  limit: number
  /** The request's Content-Length, when it declared one. */
  readonly declared: number | undefined
  /** Set when the body was refused, for `errorHandler` (parsers may replace the error). */
  refused: PayloadTooLargeError | undefined
  /** Whether the body has been read from, after which the limit refuses by counting. */
  reading: boolean
}

const states = new WeakMap<Request, BodyLimitState>()

/** Checks a limit given by a caller: a number of bytes ≥ 0, or `Infinity` for none. */
export function checkLimit(limit: number, name: string): number {
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) {
    throw new RangeError(`${name} must be a number of bytes ≥ 0 (or Infinity), got ${limit}`)
  }
  return limit
}

/**
 * The length a request's body is held to by the HTTP layer: its Content-Length, unless it
 * also says Transfer-Encoding (then the runtime's parser refuses it or ignores the length)
 * or the value is not one plain number.
 */
function declaredLength(headers: Headers): number | undefined {
  const value = headers.get('content-length')
  if (value === null || headers.has('transfer-encoding') || !/^\d+$/.test(value)) return undefined
  return Number(value)
}

/**
 * The service's side: `request` limited to `limit` bytes, or `request` itself when it needs
 * no counting (no body to read, or a Content-Length within the limit). Never throws: a
 * body declared over the limit is refused when it is read, so that a route may raise it.
 */
export function limitRequestBody(request: Request, limit: number): Request {
  const declared = declaredLength(request.headers)
  if (declared !== undefined && declared <= limit) return request
  return wrap(request, { limit, declared, refused: undefined, reading: false })
}

/**
 * The route's side (`bodyLimit()`): sets the limit of `request` to `limit`, raising or
 * lowering the service's. A Content-Length over `limit` is refused at once, reading
 * nothing; a body of unknown length is counted. Returns the request the route must use
 * (`request` itself, unless it had no counting body yet and needs one).
 */
export function setBodyLimit(request: Request, limit: number): Request {
  const method = request.method
  if (method === 'GET' || method === 'HEAD') return request
  const state = states.get(request)
  if (state !== undefined) {
    state.limit = limit
    if (!state.reading && state.declared !== undefined && state.declared > limit) {
      throw refuse(state)
    }
    return request
  }
  const declared = declaredLength(request.headers)
  if (declared !== undefined) {
    if (declared > limit) throw new PayloadTooLargeError(limit)
    return request
  }
  if (limit === Number.POSITIVE_INFINITY) return request
  return wrap(request, { limit, declared, refused: undefined, reading: false })
}

/**
 * The `PayloadTooLargeError` that refused this request's body, if one did: for an
 * `app.onError` handler of its own (edgeio's `errorHandler` checks it already), since a
 * body parser may have turned the failed read into another error (Hono's validator
 * answers any failed read with a 400).
 *
 * @example
 * ```ts
 * app.onError((error, c) => {
 *   const tooLarge = bodyLimitError(c.req.raw)
 *   if (tooLarge) return c.text(tooLarge.message, 413)
 *   return c.text('Internal Server Error', 500)
 * })
 * ```
 */
export function bodyLimitError(request: Request): PayloadTooLargeError | undefined {
  return states.get(request)?.refused
}

function refuse(state: BodyLimitState): PayloadTooLargeError {
  state.refused ??= new PayloadTooLargeError(state.limit)
  return state.refused
}

/** A copy of `request` whose body counts what is read against `state.limit`. */
function wrap(request: Request, state: BodyLimitState): Request {
  const source = request.body
  if (source === null) return request
  const limited = replaceBody(request, countingBody(source, state))
  states.set(limited, state)
  return limited
}

/**
 * `source`, counted. Nothing is read before someone reads (high-water mark 0): the limit
 * may still change until then. On refusal the source is left as it is, neither read further
 * nor cancelled: the adapters then answer and drop the connection (Node stops keep-alive on
 * a request answered before its body ended), as they do for any early answer.
 */
function countingBody(
  source: ReadableStream<Uint8Array>,
  state: BodyLimitState
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  let received = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (reader === undefined) {
          state.reading = true
          // Declared over the limit: refuse before reading a byte.
          if (state.declared !== undefined && state.declared > state.limit) {
            controller.error(refuse(state))
            return
          }
          reader = source.getReader()
        }
        const { done, value } = await reader.read()
        if (done) {
          controller.close()
          return
        }
        received += value.byteLength
        if (received > state.limit) {
          controller.error(refuse(state))
          return
        }
        controller.enqueue(value)
      },
      cancel(reason) {
        return reader === undefined ? source.cancel(reason) : reader.cancel(reason)
      },
    },
    { highWaterMark: 0 }
  )
}
