import type { MiddlewareHandler } from 'hono'
import { checkLimit, setBodyLimit } from '../../lifecycle/body-limit.ts'

export {
  bodyLimitError,
  DEFAULT_MAX_BODY_BYTES,
  PayloadTooLargeError,
} from '../../lifecycle/body-limit.ts'

export interface BodyLimitOptions {
  /**
   * Largest request body the guarded routes read, in bytes: above or below the service's
   * `maxBodyBytes` (default 1 MiB). `Infinity`: no limit, for routes that stream a body
   * through without holding it.
   */
  maxBytes: number
}

/**
 * Sets the request body limit of the routes it guards, raising or lowering the service's
 * (`new Service(app, { maxBodyBytes })`, 1 MiB by default, which holds on every route
 * without one). The innermost `bodyLimit()` of a request wins.
 *
 * A body is refused with a `PayloadTooLargeError` (413; `errorHandler` answers
 * `{"error": "Payload Too Large: the limit is … bytes"}`): at once when its Content-Length
 * is over the limit, or, for a body of unknown length, while it streams in, as soon as the
 * bytes read pass the limit — nothing beyond the limit is held in memory. Unlike
 * `hono/body-limit`, it does not buffer the body itself: `c.req.json()`, `formData()`,
 * `arrayBuffer()` and `c.req.raw.body` all read through the limit. It also works without a
 * `Service` (a bare Hono app), as a limit of its own.
 *
 * @example
 * ```ts
 * // A larger upload on one route, a smaller one on another, 1 MiB everywhere else.
 * app.post('/upload', bodyLimit({ maxBytes: 50 * 1024 * 1024 }), async (c) => {
 *   const form = await c.req.formData()
 *   return c.json({ files: form.getAll('file').length })
 * })
 * app.post('/notes', bodyLimit({ maxBytes: 64 * 1024 }), async (c) => c.json(await c.req.json()))
 * // A relay that streams the body on without holding it: no limit.
 * app.post('/relay', bodyLimit({ maxBytes: Infinity }), (c) =>
 *   fetch(upstream, { method: 'POST', body: c.req.raw.body, duplex: 'half' } as RequestInit)
 * )
 * ```
 */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const maxBytes = checkLimit(options.maxBytes, 'bodyLimit: maxBytes')
  return async function bodyLimit(c, next) {
    const request = c.req.raw
    const limited = setBodyLimit(request, maxBytes)
    if (limited !== request) c.req.raw = limited
    await next()
  }
}
