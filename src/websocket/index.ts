import type { Context, MiddlewareHandler } from 'hono'
import type { WSContext, WSEvents, WSMessageReceive } from 'hono/ws'
import type { Runtime } from '../runtime/runtime.ts'
import { type ServerScope, serverScope } from '../runtime/server-scope.ts'

export interface WebSocketOptions {
  /**
   * Largest message accepted, in bytes; a bigger one closes the socket with 1009. Default 1 MiB.
   *
   * On Node and Bun a message over the adapter's `maxWebSocketPayload` (default 1 MiB) is
   * refused (1009) before it is buffered. On Deno it is checked only once the message has arrived whole:
   * `Deno.upgradeWebSocket` (Deno 2.9.6) offers no size option, and Deno itself receives any
   * message up to 64 MiB (a bigger one closes the connection without a close frame, 1006).
   * Measured: one 63 MiB message raises a Deno server's RSS by ~128 MiB at its peak before
   * its 1009 (38 → 166 MiB; four at once 42 → 385 MiB), so budget up to ~128 MiB per open
   * socket on Deno, or put a proxy with a frame limit in front.
   */
  maxMessageBytes?: number
  /**
   * A socket that receives nothing (no message, no pong) for this long is closed with 1001
   * `idle timeout`. Default 60 s; `0` turns it off.
   */
  idleTimeoutMs?: number
  /**
   * How often to ping where the runtime lets the server ping (Node's ws, Bun). Deno pings by
   * itself after half the idle timeout of silence, whatever this says as long as it is not
   * `0`; Workers cannot ping. Default 30 s; `0` turns it off.
   */
  heartbeatMs?: number
}

const encoder = new TextEncoder()

/** Whether a message is over `max` bytes, encoding a string only when its length cannot tell. */
function tooBig(data: WSMessageReceive, max: number): boolean {
  if (typeof data === 'string') {
    if (data.length > max) return true // at least one byte per UTF-16 unit
    if (data.length * 3 <= max) return false // at most three
    return encoder.encode(data).byteLength > max
  }
  return (data instanceof Blob ? data.size : data.byteLength) > max
}

/** A ws-style raw socket (Node) that can ping and reports pongs. */
interface Pinging {
  ping(): void
  on(event: 'pong', listener: () => void): void
}
const canPing = (raw: unknown): raw is Pinging =>
  typeof (raw as Partial<Pinging> | undefined)?.ping === 'function' &&
  typeof (raw as Partial<Pinging> | undefined)?.on === 'function'

/** `events` with edgeio's limits around them, the socket counted among its server's. */
function guard(events: WSEvents, limits: Required<WebSocketOptions>, scope: ServerScope): WSEvents {
  const openSockets = scope.webSockets
  // The context the socket opened with: hono/bun makes a new one for every event, so the
  // one onClose gets would not be found in openSockets.
  let opened: WSContext | undefined
  let idle: ReturnType<typeof setTimeout> | undefined
  let heartbeat: ReturnType<typeof setInterval> | undefined
  const runtimeHeartbeat = scope.runtime.webSocket.pingsItself && limits.heartbeatMs > 0
  const touch = (ws: WSContext) => {
    if (limits.idleTimeoutMs <= 0 || runtimeHeartbeat) return
    clearTimeout(idle)
    idle = setTimeout(() => ws.close(1001, 'idle timeout'), limits.idleTimeoutMs)
  }
  return {
    onOpen(event, ws) {
      opened = ws
      openSockets.add(ws)
      touch(ws)
      if (limits.heartbeatMs > 0 && canPing(ws.raw)) {
        const raw = ws.raw
        raw.on('pong', () => touch(ws))
        heartbeat = setInterval(() => raw.ping(), limits.heartbeatMs)
      }
      events.onOpen?.(event, ws)
    },
    onMessage(event, ws) {
      touch(ws)
      if (tooBig(event.data, limits.maxMessageBytes)) {
        ws.close(1009, `message over ${limits.maxMessageBytes} bytes`)
        return
      }
      events.onMessage?.(event, ws)
    },
    onClose(event, ws) {
      openSockets.delete(opened ?? ws)
      clearTimeout(idle)
      clearInterval(heartbeat)
      events.onClose?.(event, ws)
    },
    onError(event, ws) {
      events.onError?.(event, ws)
    },
  }
}

/**
 * A WebSocket route that runs the same on Node, Deno and Workers (the adapter supplies
 * the runtime's Hono helper), with a message size limit, an idle timeout with pings where
 * the runtime allows them, and a goodbye (1001) to every socket on graceful shutdown.
 *
 * @example
 * ```ts
 * app.get('/ws', upgradeWebSocket(() => ({
 *   onMessage: (event, ws) => ws.send(`echo: ${event.data}`),
 * }), { maxMessageBytes: 64 * 1024 }))
 * ```
 */
export function upgradeWebSocket(
  createEvents: (c: Context) => WSEvents | Promise<WSEvents>,
  options: WebSocketOptions = {}
): MiddlewareHandler {
  const limits: Required<WebSocketOptions> = {
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    heartbeatMs: options.heartbeatMs ?? 30_000,
  }
  // The runtime's middleware, made on the first request (one runtime serves a process).
  let handler: MiddlewareHandler | undefined
  let madeFor: Runtime | undefined
  return async function upgradeWebSocket(c, next) {
    const { runtime } = serverScope(c, 'upgradeWebSocket')
    if (madeFor !== runtime || handler === undefined) {
      const { upgrade, options } = runtime.webSocket
      handler = upgrade(
        async (context: Context) =>
          guard(await createEvents(context), limits, serverScope(context, 'upgradeWebSocket')),
        options?.(limits) as never
      ) as MiddlewareHandler
      madeFor = runtime
    }
    return handler(c, next)
  }
}
