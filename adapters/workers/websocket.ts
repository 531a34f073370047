/**
 * Hono's WebSocket helper for Workers (`hono/cloudflare-workers`) never calls `onOpen`, so
 * idle timers and the open-socket registry of src/websocket would never start there. This
 * is the same helper over `WebSocketPair`, calling `onOpen` once the socket is accepted
 * (a Worker's socket is open as soon as it is accepted).
 */
import { defineWebSocketHelper, WSContext } from 'hono/ws'

interface WorkersWebSocket extends WebSocket {
  accept(): void
}

declare const WebSocketPair: new () => { 0: WebSocket; 1: WorkersWebSocket }

export const upgradeWebSocket = defineWebSocketHelper(async (c, events) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return
  const { 0: client, 1: server } = new WebSocketPair()
  const ws = new WSContext({
    close: (code, reason) => server.close(code, reason),
    get protocol() {
      return server.protocol
    },
    raw: server,
    get readyState() {
      return server.readyState as 0 | 1 | 2 | 3
    },
    url: server.url ? new URL(server.url) : null,
    send: (source) => server.send(source),
  })
  server.addEventListener('message', (event) => events.onMessage?.(event, ws))
  server.addEventListener('close', (event) => events.onClose?.(event, ws))
  server.addEventListener('error', (event) => events.onError?.(event, ws))
  server.accept()
  events.onOpen?.(new Event('open'), ws)
  return new Response(null, { status: 101, webSocket: client } as ResponseInit)
})
