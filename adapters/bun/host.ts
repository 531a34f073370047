/**
 * What Bun's HTTP/1 parser lets through but Node's (with edgeio's check), Deno's and
 * workerd's do not, measured with Bun 1.4.5:
 *
 * - No `Host` on HTTP/1.0, or an empty one on either version, reaches the handler with a
 *   relative `request.url` (`/path`), on which routing cannot work. (HTTP/1.1 without any
 *   `Host` is refused by Bun itself with an empty 400.)
 * - A repeated `Host` reaches the handler joined (`a, b`), with the URL built on the first.
 *
 * Bun already resolves dot segments (`/a/../b` is `/b`, `%2e` spellings included) and
 * refuses a header line ending in a bare LF (400; 505 when the request line ends so), so
 * neither needs a check here.
 */

/**
 * Why a request's `Host` is unusable, or undefined when it is one non-empty value: a char
 * test on the URL and one header read (a comma never appears in a real host name).
 *
 * @example
 * ```ts
 * const problem = hostProblem(request)
 * if (problem) return Response.json({ error: `Bad Request: ${problem}` }, { status: 400 })
 * ```
 */
export function hostProblem(request: Request): string | undefined {
  if (request.url.charCodeAt(0) === SLASH) return 'missing Host header'
  if (request.headers.get('host')?.includes(',')) return 'duplicate Host header'
  return undefined
}

const SLASH = 0x2f
