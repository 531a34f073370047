import type { Context } from 'hono'
import { findServerScope } from './runtime/server-scope.ts'

export interface ClientAddressOptions {
  /**
   * Whether to believe `X-Forwarded-For`. `false` (default): never — any client can send
   * it. A number `n`: `n` proxies of yours stand in front and each appends the address it
   * saw, so the client is the `n`-th entry from the right. `true`: trust the leftmost entry.
   */
  trustProxy?: boolean | number
}

/**
 * The client's IP address, wherever the app runs: the connection's peer address on Node
 * and Deno, `CF-Connecting-IP` on Workers (set by Cloudflare's edge, which overwrites any
 * client value), and `X-Forwarded-For` only when `trustProxy` says so. `undefined` when
 * the runtime does not say (a local Worker reached through a service binding).
 *
 * @example
 * ```ts
 * app.get('/ip', (c) => c.text(clientAddress(c) ?? 'unknown'))
 * ```
 */
export function clientAddress(c: Context, options: ClientAddressOptions = {}): string | undefined {
  const { trustProxy = false } = options
  if (trustProxy !== false) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop !== '')
    const index = trustProxy === true ? 0 : Math.max(0, hops.length - trustProxy)
    const forwarded = hops[index]
    if (forwarded) return forwarded
  }
  return findServerScope(c)?.runtime.clientAddress(c)
}
