import type { Env } from 'hono'
import type { ServerScope } from '../runtime/server-scope.ts'
import { goAway } from './go-away.ts'
import type { InFlight } from './in-flight.ts'
import type { Service } from './service.ts'
import { settlesWithin } from './settles-within.ts'
import type { WaitUntilTracker } from './wait-until.ts'

/** The two things a runtime's server must offer for a graceful shutdown. */
export interface Listener {
  /** Stops accepting connections; resolves once every connection has finished. */
  close(): Promise<void>
  /** Aborts the signals of the requests still in flight: the shutdown timeout has passed. */
  abort(): void
}

export interface ShutdownOptions<E extends Env = Env> {
  service: Service<E>
  listener: Listener
  /** This server's runtime, WebSockets and long-lived responses. */
  scope: ServerScope
  /** The handler runs of this server. */
  requests: InFlight
  /** The `waitUntil` work of this server. */
  waitUntil: WaitUntilTracker
  /** How long in-flight requests, and then `waitUntil` work, may take (ms). */
  timeout: number
}

/** How long aborted requests get to answer before cleanup goes ahead without them. */
const ABORT_GRACE_MS = 1_000

/**
 * The shutdown sequence shared by the Node and Deno adapters: stop accepting, run the
 * shutdown hooks, close WebSockets and end event streams, let in-flight requests finish
 * (aborting them once `timeout` has passed), await `waitUntil` work, then run the cleanup
 * hooks. Throws when a cleanup failed.
 */
export async function gracefulShutdown<E extends Env>({
  service,
  listener,
  scope,
  requests,
  waitUntil,
  timeout,
}: ShutdownOptions<E>): Promise<void> {
  const closed = listener.close()
  await service.shutdown()
  // Open WebSockets and event streams would hold the listener open until the timeout: say
  // goodbye to this server's sockets (1001) as aiohttp advises, and end the Broadcast
  // subscriptions that feed its server-sent events, so those streams finish normally and
  // the drain waits only for real requests. Another server's are not touched.
  goAway(scope)
  const drained = Promise.all([closed, requests.idle()])
  if (!(await settlesWithin(drained, timeout))) {
    console.warn(`edgeio: requests still in flight after ${timeout} ms; aborting them`)
    listener.abort()
    if (!(await settlesWithin(drained, ABORT_GRACE_MS))) {
      console.warn(`edgeio: ${requests.count} handler(s) ignored the abort; cleaning up anyway`)
    }
  }
  if (!(await settlesWithin(waitUntil.drain(), timeout))) {
    console.warn(`edgeio: ${waitUntil.pending} waitUntil task(s) unfinished after ${timeout} ms`)
  }
  await service.cleanup()
}

/**
 * Turns termination signals into one graceful shutdown followed by `exit(0)` (or `exit(1)`
 * when it failed). A second signal while shutting down exits at once with code 1, for the
 * operator who does not want to wait.
 */
export function onTermination(
  shutdown: () => Promise<void>,
  exit: (code: number) => void
): () => void {
  let stopping = false
  return function terminate() {
    if (stopping) {
      console.error('edgeio: second signal during shutdown; exiting now')
      exit(1)
      return
    }
    stopping = true
    shutdown().then(
      () => exit(0),
      (error: unknown) => {
        console.error('edgeio: shutdown failed:', error)
        exit(1)
      }
    )
  }
}
