import type { Context, MiddlewareHandler } from 'hono'
import type { Runtime } from '../runtime/runtime.ts'
import { serverScope } from '../runtime/server-scope.ts'
import { withConditional } from './conditional.ts'

export interface ServeStaticOptions {
  /**
   * The folder (relative to the working directory) whose files are served under their
   * request path: with `root: 'public'`, `GET /static/app.css` serves `public/static/app.css`.
   * On Workers the files are the deployment's static assets (`[assets]` in wrangler.toml),
   * which Cloudflare serves before the worker; this middleware then serves them through the
   * `ASSETS` binding for requests that reach the worker.
   */
  root: string
}

/** What a runtime supplies: its static-file middleware (Hono's serveStatic for it). */
export type StaticServer = (options: ServeStaticOptions) => MiddlewareHandler

/**
 * Serves static files the same way on Node, Deno and Workers: `ETag` with `If-None-Match`
 * (304) and single `Range` requests (206/416) everywhere, whatever the runtime's own
 * server does. A missing file falls through to the next handler (your 404); paths that
 * leave `root` are never served.
 *
 * @example
 * ```ts
 * app.use('/static/*', serveStatic({ root: 'public' }))
 * ```
 */
export function serveStatic(options: ServeStaticOptions): MiddlewareHandler {
  // The runtime's middleware, made on the first request (one runtime serves a process).
  let handler: MiddlewareHandler | undefined
  let madeFor: Runtime | undefined
  return async function serveStatic(c: Context, next) {
    const runtime = serverScope(c, 'serveStatic').runtime
    // A NUL byte names no file on any system; Bun.file throws on one (a 500 from
    // hono/bun's serveStatic, found by the fuzz cases): it falls through, as a missing file.
    if (c.req.path.includes('\0')) return next()
    if (madeFor !== runtime || handler === undefined) {
      handler = runtime.serveStatic(options)
      madeFor = runtime
    }
    const res = await handler(c, next)
    // Answered by the runtime's server (not fallen through to the next handler).
    if (res instanceof Response && (c.req.method === 'GET' || c.req.method === 'HEAD')) {
      return withConditional(c.req.raw, res)
    }
    return res
  }
}

/** The part of a Workers assets binding `serveAssets` uses. */
export interface AssetsBinding {
  fetch(request: Request): Promise<Response>
}

/**
 * The Workers static server: files from the `ASSETS` binding, falling through on a 404.
 * Runtime-neutral (it only calls `fetch` on a binding), so it lives here.
 */
export const serveAssets: StaticServer = () =>
  async function serveAssets(c, next) {
    const assets = (c.env as { ASSETS?: AssetsBinding } | undefined)?.ASSETS
    if (!assets || (c.req.method !== 'GET' && c.req.method !== 'HEAD')) return next()
    const res = await assets.fetch(c.req.raw)
    if (res.status === 404) {
      await res.body?.cancel()
      return next()
    }
    // A binding's response has immutable headers; later middleware may want to add some.
    return new Response(res.body, res)
  }
