import type { ServerScope } from '../runtime/server-scope.ts'

/**
 * Says goodbye to what one server holds open, at the start of its graceful shutdown (after
 * the shutdown hooks): every open WebSocket gets 1001, every long-lived response ends, so
 * that the drain waits only for real requests. Returns how many there were.
 *
 * A function beside the shutdown rather than a method of `ServerScope`: Workers never shut
 * down, and a worker's bundle carries only what it calls.
 */
export function goAway(scope: ServerScope, reason = 'server shutting down'): number {
  const sockets = [...scope.webSockets]
  const ends = [...scope.goingAway]
  scope.webSockets.clear()
  scope.goingAway.clear()
  for (const socket of sockets) socket.close(1001, reason)
  for (const end of ends) end()
  return sockets.length + ends.length
}
