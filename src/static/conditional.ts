/**
 * Validators and ranges for a static file response, for runtimes whose own static server
 * lacks them (Deno's answers neither ETag nor Range; Node's no ETag): a strong ETag from a
 * SHA-256 of the bytes, `If-None-Match` → 304, and a single `Range: bytes=…` → 206 or 416.
 * Files above `MAX_BUFFERED_BYTES` pass through as they are rather than be buffered.
 */

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024

async function etagOf(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return `"${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}"`
}

/** `If-None-Match` holds `etag` (or `*`); weak comparison, as RFC 9110 asks for GET. */
function matches(ifNoneMatch: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '')
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === bare)
}

/** Parses one `bytes=start-end` range against `size`; `undefined` when unsatisfiable. */
function parseRange(header: string, size: number): [number, number] | 'ignore' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) return 'ignore' // several ranges or another unit: answer the whole file
  const [, from, to] = match as unknown as [string, string, string]
  if (from === '' && to === '') return 'ignore'
  let start: number
  let end: number
  if (from === '') {
    start = Math.max(0, size - Number(to))
    end = size - 1
  } else {
    start = Number(from)
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1)
  }
  return start <= end && start < size ? [start, end] : undefined
}

/** Adds ETag, 304 and 206/416 handling to a 200 response for `request`. */
export async function withConditional(request: Request, res: Response): Promise<Response> {
  if (res.status !== 200 || !res.body) return res
  if (res.headers.has('etag') && res.headers.has('accept-ranges')) return res // already complete
  const length = Number(res.headers.get('content-length') ?? Number.NaN)
  if (length > MAX_BUFFERED_BYTES) return res
  const bytes = await res.arrayBuffer()
  const headers = new Headers(res.headers)
  const etag = headers.get('etag') ?? (await etagOf(bytes))
  headers.set('etag', etag)
  headers.set('accept-ranges', 'bytes')
  headers.delete('transfer-encoding')
  const ifNoneMatch = request.headers.get('if-none-match')
  if (ifNoneMatch && matches(ifNoneMatch, etag)) {
    headers.delete('content-length')
    headers.delete('content-type')
    return new Response(null, { status: 304, headers })
  }
  const rangeHeader = request.headers.get('range')
  const range = rangeHeader ? parseRange(rangeHeader, bytes.byteLength) : 'ignore'
  if (range === undefined) {
    headers.set('content-range', `bytes */${bytes.byteLength}`)
    headers.delete('content-length')
    return new Response(null, { status: 416, headers })
  }
  if (range !== 'ignore') {
    const [start, end] = range
    headers.set('content-range', `bytes ${start}-${end}/${bytes.byteLength}`)
    headers.set('content-length', String(end - start + 1))
    return new Response(bytes.slice(start, end + 1), { status: 206, headers })
  }
  headers.set('content-length', String(bytes.byteLength))
  return new Response(bytes, { status: 200, headers })
}
