// A response's permit is held until its body is done, not until its headers arrive: the
// connection is busy until then, and an upstream counting requests in flight would see
// more than `perHost` otherwise. A fetch Response says nothing when its body ends, so the
// response is made to say it, by moving it onto a prototype of its own class's that
// overrides the reading methods and `body` (one per Response class, made once):
// - its consuming methods (`text()`, `json()`…) call `done` when they settle: cheap, the
//   common case pays no stream of its own;
// - its `body` getter hands out, on first use only, a pass-through stream which calls `done`
//   at its end, cancel or error (streaming and proxying users).
// One prototype swap and one own property per response, no closure per method: defining
// the seven overrides as own properties of each response cost ~2.5 % of a call's CPU and
// more in GC (measured on Node 24 with `--cpu-prof`). Where the instance refuses a new
// prototype, the response is rebuilt around the pass-through stream instead (costlier: a
// new Response and a copy of the headers).

/** Statuses whose responses never have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304])
const CONSUMERS = ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const

/** Where a tracked response keeps its `done` and, once asked for, its pass-through body. */
const DONE = Symbol('edgeio.client.done')
const STREAM = Symbol('edgeio.client.stream')

interface Tracked {
  [DONE]: () => void
  [STREAM]?: ReadableStream<Uint8Array>
}

/** The tracking prototype made for each Response prototype met (undici's, the runtime's…). */
const tracking = new WeakMap<object, object>()

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
  const proto = trackingPrototype(Object.getPrototypeOf(response) as object)
  if (proto !== undefined) {
    try {
      ;(response as unknown as Tracked)[DONE] = done
      Object.setPrototypeOf(response, proto)
      return response
    } catch {
      // a frozen or exotic instance: rebuilt below
    }
  }
  return rebuild(response, body, done)
}

function trackingPrototype(original: object): object | undefined {
  let proto = tracking.get(original)
  if (proto !== undefined) return proto
  const bodyGetter = findGetter(original, 'body')
  if (bodyGetter === undefined) return undefined
  const descriptors: PropertyDescriptorMap = {
    body: {
      configurable: true,
      get(this: Response & Tracked) {
        let stream = this[STREAM]
        if (stream === undefined) {
          const body = bodyGetter.call(this) as ReadableStream<Uint8Array> | null
          if (body === null) return null
          stream = passThrough(body, this[DONE])
          this[STREAM] = stream
        }
        return stream
      },
    },
  }
  for (const name of CONSUMERS) {
    const read = (original as Record<string, unknown>)[name]
    if (typeof read !== 'function') continue
    descriptors[name] = {
      configurable: true,
      writable: true,
      value: async function (this: Response & Tracked) {
        // The stream handed out by `body` is the one to read once it exists (with the
        // headers: `blob()` and `formData()` read the content type).
        const stream = this[STREAM]
        const target = stream === undefined ? this : new Response(stream, { headers: this.headers })
        try {
          return await (read as () => Promise<unknown>).call(target)
        } finally {
          this[DONE]()
        }
      },
    }
  }
  proto = Object.create(original, descriptors) as object
  tracking.set(original, proto)
  return proto
}

function findGetter(proto: object | null, name: string): (() => unknown) | undefined {
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name)
    if (descriptor !== undefined) return descriptor.get
  }
  return undefined
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
