import type { Context } from 'hono'
import { matchedRoutes } from 'hono/route'

/**
 * The route template that answers the request (`/users/:id`), or `undefined` when no route
 * but middleware matched (a 404). Hono's router matched every route before the first
 * middleware ran, so this is known from the start (a sampler can see it). The answering
 * route is the last match registered as a handler: middleware takes `(c, next)`, a handler
 * `(c)`, the distinction Hono's own route helper draws. A handler declared with a `next`
 * parameter therefore counts as middleware (it still gets its route if a later match is a
 * handler).
 */
export function routeTemplate(c: Context): string | undefined {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]
    if (route && route.handler.length < 2) return route.path
  }
  return undefined
}
