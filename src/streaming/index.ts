/**
 * Hono's `stream()`, `streamSSE()` and `streamText()`, except that a callback which throws
 * leaves the response visibly truncated.
 *
 * Hono's helpers catch the callback's error, log it and close the body normally, so the
 * response ends with its terminating zero-length chunk: a client sees a complete 200 and
 * cannot tell a failed download or event feed from a finished one (curl exits 0). These
 * error the body instead. Every runtime then aborts the connection: no terminating chunk,
 * a `Content-Length` response cut short, `fetch`'s body read rejects, curl exits 18
 * (measured on Node 24 / @hono/node-server 2.1, Deno 2.9.6 and workerd under wrangler dev).
 * The error is logged by the runtime (once); its message never reaches the client.
 *
 * The cost is one `try` around the callback: nothing per chunk.
 */
import type { Context } from 'hono'
import {
  stream as honoStream,
  streamSSE as honoStreamSSE,
  streamText as honoStreamText,
  type SSEStreamingApi,
} from 'hono/streaming'
import type { StreamingApi } from 'hono/utils/stream'

type OnError<S> = (error: Error, stream: S) => Promise<void>

/** Runs `cb`; if it throws, lets `onError` write a last word, then errors the body. */
function failVisibly<S extends StreamingApi>(
  cb: (stream: S) => Promise<void>,
  onError: OnError<S> | undefined
): (stream: S) => Promise<void> {
  return async (stream) => {
    try {
      await cb(stream)
    } catch (error) {
      if (onError && error instanceof Error) {
        try {
          await onError(error, stream)
        } catch {
          // The body is errored below either way.
        }
      }
      // Erroring the writable side errors the response body the runtime reads (and the
      // helper's own close() afterwards is a no-op). abort() would not do: it cancels the
      // reader, which ends the body cleanly. `writer` is private in Hono's types only (a
      // plain field; index.test.ts fails if a Hono release renames it).
      const { writer } = stream as unknown as { writer: WritableStreamDefaultWriter }
      await writer.abort(error ?? new Error('stream failed')).catch(() => {})
    }
  }
}

/**
 * Like `stream` from `hono/streaming`; a thrown error aborts the response (see the module
 * comment) after `onError`, if given, had its chance to write.
 *
 * @example
 * ```ts
 * app.get('/export', (c) => stream(c, async (out) => {
 *   for await (const row of db.rows()) await out.write(toCsv(row)) // a failure truncates
 * }))
 * ```
 */
export function stream(
  c: Context,
  cb: (stream: StreamingApi) => Promise<void>,
  onError?: OnError<StreamingApi>
): Response {
  return honoStream(c, failVisibly(cb, onError))
}

/** Like `streamText` from `hono/streaming`; a thrown error aborts the response. */
export function streamText(
  c: Context,
  cb: (stream: StreamingApi) => Promise<void>,
  onError?: OnError<StreamingApi>
): Response {
  return honoStreamText(c, failVisibly(cb, onError))
}

/**
 * Like `streamSSE` from `hono/streaming`; a thrown error aborts the response, so an
 * `EventSource` sees an error (and reconnects) rather than a feed that ended. Unlike
 * Hono's, no `event: error` carrying the error's message is sent: `onError` may send what
 * the client should see.
 */
export function streamSSE(
  c: Context,
  cb: (stream: SSEStreamingApi) => Promise<void>,
  onError?: OnError<SSEStreamingApi>
): Response {
  return honoStreamSSE(c, failVisibly(cb, onError))
}

export type { SSEMessage, SSEStreamingApi } from 'hono/streaming'
export type { StreamingApi } from 'hono/utils/stream'
