import type { Context } from 'hono'
import type { WSContext } from 'hono/ws'
import type { Runtime } from './runtime.ts'

/** Where a server's scope sits on each request's `c.env` (a symbol: invisible to `Object.keys`). */
export const SERVER_SCOPE: unique symbol = Symbol.for('edgeio.serverScope')

/**
 * What belongs to one server (one `serve()` handle; on Workers, the isolate): its runtime,
 * its open WebSockets and its long-lived responses. A graceful shutdown says goodbye to
 * these and to nothing of another server's, so that two servers in one process (a public
 * and an admin port, a test) shut down apart.
 */
export class ServerScope {
  readonly runtime: Runtime
  /** The WebSockets this server accepted and that are still open. */
  readonly webSockets = new Set<WSContext>()
  /**
   * Ends of long-lived responses (event streams fed by a `Broadcast`), called once by the
   * graceful shutdown (`goAway`). A Set rather than an AbortSignal: subscriptions come and
   * go by the thousand, and a signal scans its listener list on every add and remove.
   */
  readonly goingAway = new Set<() => void>()

  constructor(runtime: Runtime) {
    this.runtime = runtime
  }

  /** Calls `end` once when this server's graceful shutdown begins; returns the undo. */
  atShutdown(end: () => void): () => void {
    this.goingAway.add(end)
    return () => void this.goingAway.delete(end)
  }
}

/** The scope of the server that is serving `c`, or `undefined` (`app.request()` in a test). */
export function findServerScope(c: Context): ServerScope | undefined {
  return (c.env as { [SERVER_SCOPE]?: ServerScope } | undefined)?.[SERVER_SCOPE]
}

/**
 * The scope of the server that is serving `c`; `feature` names the caller in the error
 * thrown when there is none, which says what is missing.
 */
export function serverScope(c: Context, feature: string): ServerScope {
  const scope = findServerScope(c)
  if (scope === undefined) {
    throw new Error(
      `${feature} needs the runtime serving this request: serve the app with an edgeio adapter (edgeio/node, /deno, /bun, /workers)`
    )
  }
  return scope
}
