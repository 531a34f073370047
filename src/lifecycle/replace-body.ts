/**
 * `request` with `body` in place of its own: same method, URL and headers, and the same
 * `signal`, passed on explicitly because Deno's adapter gives a request a signal of its own
 * (it also follows a forced shutdown), which the Request constructor would not copy.
 */
export function replaceBody(request: Request, body: ReadableStream<Uint8Array>): Request {
  return new Request(request, { body, duplex: 'half', signal: request.signal } as RequestInit)
}
