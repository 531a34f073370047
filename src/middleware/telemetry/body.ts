/**
 * Whether a response's body is still being produced after the handler returned: Hono's
 * `streamText()` and `streamSSE()` (and edgeio's) say `Transfer-Encoding: chunked`, an event
 * stream says so by its type. A body built from a string or buffer is complete when the
 * handler returns, and is left alone (wrapping it would turn a sized body into a chunked one).
 */
export function isStreamed(res: Response): boolean {
  const headers = res.headers
  return (
    headers.get('transfer-encoding')?.toLowerCase() === 'chunked' ||
    headers.get('content-type')?.startsWith('text/event-stream') === true
  )
}

/**
 * `res` with a body that calls `done` once, at the first of: the last chunk read (`done()`),
 * a failed read (`done(error)`), a cancel by the reader — the runtime, for a client that
 * left (`done()`). A pull-through stream rather than `pipeThrough`: it needs no
 * `TransformStream` cancel hook, which not every runtime has, and holds one chunk at a time.
 */
export function onBodyEnd(res: Response, done: (error?: unknown) => void): Response {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  // A cancel while a read is pending also settles that read: report only the first end.
  let ended = false
  const end = (error?: unknown) => {
    if (ended) return
    ended = true
    done(error)
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read()
        if (chunk.done) {
          controller.close()
          end()
        } else controller.enqueue(chunk.value)
      } catch (error) {
        controller.error(error)
        end(error)
      }
    },
    cancel(reason) {
      end()
      return reader.cancel(reason)
    },
  })
  return new Response(body, res)
}
