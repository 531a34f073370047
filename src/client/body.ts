// A response's permit is held until its body is done, not until its headers arrive: the
// connection is busy until then, and an upstream counting requests in flight would see
// more than `perHost` otherwise. A fetch Response says nothing when its body ends, so the
// response is made to say it:
// - its consuming methods (`text()`, `json()`…) are shadowed on the instance by ones that
//   call `done` when they settle: cheap, the common case pays no stream of its own;
// - its `body` is shadowed by a getter that hands out, on first use only, a pass-through
//   stream which calls `done` at its end, cancel or error (streaming and proxying users).
// Where the instance cannot take own properties, the response is rebuilt around that
// pass-through stream instead (costlier: a new Response and a copy of the headers).

/** Statuses whose responses never have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])
const CONSUMERS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const

/**
 * Returns `response` (or a stand-in) whose body calls `done` once it has been read to the
 * end, cancelled or has failed; at once when there is no body. `done` may also be called
 * from elsewhere (an abort): it must be idempotent.
 */
export function onBodyDone(response: Response, done: () => void): Response {
  const body = response.body
  if (body === null || NULL_BODY.has(response.status)) {
    done()
    return response
  }
  try {
    shadow(response, body, done)
    return response
  } catch {
    return rebuild(response, body, done)
  }
}

function shadow(response: Response, body: ReadableStream<Uint8Array>, done: () => void): void {
  const settle = <T>(value: T): T => {
    done()
    return value
  }
  const fail = (error: unknown): never => {
    done()
    throw error
  }
  const descriptors: PropertyDescriptorMap = {}
  for (const name of CONSUMERS) {
    const original = response[name] as (() => Promise<unknown>) | undefined
    if (typeof original !== 'function') continue
    descriptors[name] = {
      configurable: true,
      writable: true,
      value: () => original.call(response).then(settle, fail),
    }
  }
  let stream: ReadableStream<Uint8Array> | undefined
  descriptors.body = {
    configurable: true,
    get: () => {
      stream ??= passThrough(body, done)
      return stream
    },
  }
  Object.defineProperties(response, descriptors)
}

function rebuild(response: Response, body: ReadableStream<Uint8Array>, done: () => void) {
  const wrapped = new Response(passThrough(body, done), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  })
  // A constructed Response has no url and is never `redirected`: carry the real ones over.
  if (response.url !== '') Object.defineProperty(wrapped, 'url', { value: response.url })
  if (response.redirected) Object.defineProperty(wrapped, 'redirected', { value: true })
  return wrapped
}

/** A stream with `body`'s chunks that calls `done` at its end, cancel or error. */
function passThrough(
  body: ReadableStream<Uint8Array>,
  done: () => void
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // The reader's own result type: the DOM lib and @types/bun name it differently.
        let chunk: Awaited<ReturnType<typeof reader.read>>
        try {
          chunk = await reader.read()
        } catch (error) {
          done()
          controller.error(error)
          return
        }
        if (chunk.done) {
          done()
          controller.close()
        } else {
          controller.enqueue(chunk.value)
        }
      },
      cancel(reason) {
        done()
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 }
  )
}

/** Frees a response that will not be read (a retried one): its connection is released. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {})
}
