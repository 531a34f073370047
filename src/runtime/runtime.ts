import type { Context } from 'hono'
import type { UpgradeWebSocket } from 'hono/ws'
import type { ExecutorFactory } from '../executor/executor.ts'
import type { Connector } from '../net/connection.ts'
import type { StaticServer } from '../static/index.ts'
import type { WebSocketOptions } from '../websocket/index.ts'

/** How a runtime upgrades a request to a WebSocket (its Hono helper, and how to set it up). */
export interface WebSocketSupport {
  /** The runtime's Hono `upgradeWebSocket` (`hono/bun`'s, `hono/deno`'s, …). */
  readonly upgrade: UpgradeWebSocket<unknown, never>
  /** The helper's own options for edgeio's limits (Deno's `idleTimeout`), if it takes any. */
  readonly options?: (limits: Required<WebSocketOptions>) => unknown
  /**
   * Whether the runtime runs the heartbeat itself from those options (pings, and closes a
   * socket silent for the idle timeout, pongs counting as activity), as Deno does. edgeio
   * then keeps no idle timer of its own, which would close a live client whose pongs it
   * cannot see.
   */
  readonly pingsItself: boolean
}

/**
 * What a runtime gives the runtime-neutral core: the whole contract of an adapter. Each
 * adapter builds one and hands it to the service it serves; a request reaches it through
 * its server's {@link ServerScope} (`serverScope(c)`), never through a process global, so
 * nothing depends on which adapter module happened to be imported, or in which order.
 */
export interface Runtime {
  /** `node`, `deno`, `bun` or `workerd`: for messages, and the odd measured difference. */
  readonly name: string
  /** Opens TCP connections for `openConnection`. */
  readonly connect: Connector
  /** The runtime's static-file middleware, behind `serveStatic`. */
  readonly serveStatic: StaticServer
  /** WebSockets, behind `upgradeWebSocket`. */
  readonly webSocket: WebSocketSupport
  /** Where `service.executor()` runs its tasks (threads, Web Workers, inline). */
  readonly createExecutor: ExecutorFactory
  /**
   * The client's address as the platform reports it: the connection's peer on Node, Deno
   * and Bun, `CF-Connecting-IP` on Workers (set by Cloudflare's edge). `clientAddress`
   * falls back to it when no trusted proxy header says otherwise.
   */
  clientAddress(c: Context): string | undefined
  /**
   * Whether work still running after its request answered is cut unless handed to
   * `ctx.waitUntil` (Workers). On Node, Deno and Bun it runs on by itself, and the
   * adapter's `waitUntil` only tracks it for the graceful shutdown.
   */
  readonly cutsWorkAfterResponse: boolean
}
