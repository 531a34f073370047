import type { MiddlewareHandler } from 'hono'

/**
 * A middleware made by `load` on its first request. The adapters wrap runtime helpers that
 * most services never call (static files, WebSockets) in it, so that importing an adapter
 * does not load their modules and delay every server's first response.
 */
export function lazyMiddleware(load: () => Promise<MiddlewareHandler>): MiddlewareHandler {
  let handler: Promise<MiddlewareHandler> | undefined
  return async function lazyMiddleware(c, next) {
    handler ??= load()
    return (await handler)(c, next)
  }
}
