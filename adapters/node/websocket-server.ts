/**
 * ws's `WebSocketServer`, loaded on the first WebSocket upgrade instead of with the adapter:
 * ws takes Node ~6–10 ms to load (bench/coldstart), a cost every server paid before its
 * first response although most never upgrade a connection.
 *
 * @hono/node-server drives the server it is given through a small surface (the `noServer`
 * option, `handleUpgrade`, the `headers` and `connection` events, `close`), which this
 * stands in for: it is an EventEmitter (node-server itself emits `connection` on it), and
 * each upgrade runs on the real server with the `headers` listeners node-server attached for
 * that upgrade, so response headers such as cookies still reach the 101.
 */
import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { WebSocket, WebSocketServer } from 'ws'

export class DeferredWebSocketServer extends EventEmitter {
  readonly options = { noServer: true } as const
  readonly #maxPayload: number
  #server: WebSocketServer | undefined
  #loading: Promise<WebSocketServer> | undefined

  /** `maxPayload`: ws refuses larger frames before buffering them (close code 1009). */
  constructor(maxPayload: number) {
    super()
    this.#maxPayload = maxPayload
  }

  handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    done: (ws: WebSocket, request: IncomingMessage) => void
  ): void {
    // node-server removes its listener right after this call returns: take it now.
    const headers = this.listeners('headers') as ((headers: string[]) => void)[]
    const upgrade = (server: WebSocketServer) => {
      for (const listener of headers) server.on('headers', listener)
      try {
        server.handleUpgrade(request, socket, head, done)
      } finally {
        for (const listener of headers) server.off('headers', listener)
      }
    }
    if (this.#server) {
      upgrade(this.#server)
      return
    }
    this.#loading ??= import('ws').then(({ WebSocketServer }) => {
      this.#server = new WebSocketServer({ noServer: true, maxPayload: this.#maxPayload })
      return this.#server
    })
    this.#loading.then(upgrade, (error: unknown) => {
      // ws is an optional peer: say which package a WebSocket route needs.
      console.error('edgeio/node: WebSocket upgrades need the ws package (npm install ws):', error)
      socket.destroy()
    })
  }

  close(): void {
    this.#server?.close()
  }
}
