/**
 * WebSockets on Bun through `hono/bun`'s helper. `Bun.serve` takes one set of socket
 * handlers for the whole server, given when it starts, whereas `hono/bun` (loaded only when
 * a route first upgrades) supplies them: the handlers here forward to it.
 */
import type { ServerWebSocket, WebSocketHandler } from 'bun'
import type { Context, MiddlewareHandler } from 'hono'
import type { BunWebSocketData } from 'hono/bun'
import type { WSEvents } from 'hono/ws'
import { lazyMiddleware } from '../../src/internal.ts'

type HonoBun = typeof import('hono/bun')
type Socket = ServerWebSocket<BunWebSocketData> & {
  on?: (event: 'pong', listener: () => void) => void
}

const PONG = Symbol('edgeio.pong')
type SocketData = BunWebSocketData & { [PONG]?: () => void }

let honoBun: HonoBun | undefined
/** `hono/bun`, loaded on first use (most services upgrade nothing). */
export async function loadHonoBun(): Promise<HonoBun> {
  honoBun ??= await import('hono/bun')
  return honoBun
}

/**
 * `hono/bun`'s `upgradeWebSocket`, loaded on first use. The per-route limits (message size,
 * idle timeout, heartbeat) are edgeio's own (src/websocket), so Bun's are not passed.
 *
 * @example
 * ```ts
 * const runtime = { …, webSocket: { upgrade: upgradeWebSocket, pingsItself: false } }
 * ```
 */
export function upgradeWebSocket(
  createEvents: (c: Context) => WSEvents<unknown> | Promise<WSEvents<unknown>>
): MiddlewareHandler {
  return lazyMiddleware(async () => (await loadHonoBun()).upgradeWebSocket(createEvents))
}

/**
 * The socket handlers of the server: `hono/bun`'s, plus pongs. edgeio's heartbeat pings a
 * socket that has `ping()` and reports pongs through `on('pong', …)` (ws's shape, as on
 * Node); Bun reports them to the server's `pong` handler instead, so each socket gets that
 * `on` when it opens, fed from there.
 *
 * Bun's own idle timeout and pings are off: edgeio's per-route idle timer and heartbeat do
 * that (Bun's are per server, and at least 8 s). `maxPayloadLength` refuses a bigger
 * message with 1009 before buffering it, as ws's `maxPayload` does on Node.
 *
 * @example
 * ```ts
 * Bun.serve({ fetch, websocket: websocketHandler(1024 * 1024) })
 * ```
 */
export function websocketHandler(maxPayloadLength: number): WebSocketHandler<BunWebSocketData> {
  return {
    maxPayloadLength,
    idleTimeout: 0,
    sendPings: false,
    open(ws: Socket) {
      ws.on = (event, listener) => {
        if (event === 'pong') (ws.data as SocketData)[PONG] = listener
      }
      honoBun?.websocket.open(ws)
    },
    message(ws, message) {
      honoBun?.websocket.message(ws, message)
    },
    pong(ws) {
      ;(ws.data as SocketData)[PONG]?.()
    },
    close(ws, code, reason) {
      honoBun?.websocket.close(ws, code, reason)
    },
  }
}
