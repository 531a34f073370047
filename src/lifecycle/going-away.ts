/**
 * What long-lived responses do when the server goes away. A server-sent-events stream ends
 * only when its client leaves, so left alone it holds a graceful shutdown for the whole
 * `shutdownTimeout` and is then cut; WebSockets get their 1001 from `closeAllWebSockets`.
 * Per process, like the open WebSockets. A Set rather than an AbortSignal: subscriptions
 * come and go by the thousand, and a signal scans its listener list on every add and remove.
 */
const goingAway = new Set<() => void>()

/**
 * Calls `end` once when the next graceful shutdown in this process begins (after its
 * shutdown hooks). Returns the function that takes it back, for a response that ended first.
 */
export function atShutdown(end: () => void): () => void {
  goingAway.add(end)
  return () => void goingAway.delete(end)
}

/**
 * Calls every `atShutdown` callback and forgets them, so a server started after another
 * one closed (in tests, say) starts with none. Returns how many there were.
 */
export function endLongLivedResponses(): number {
  const ends = [...goingAway]
  goingAway.clear()
  for (const end of ends) end()
  return ends.length
}
