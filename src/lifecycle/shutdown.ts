import type { Env } from 'hono'
import type { Service } from './service.ts'
import type { WaitUntilTracker } from './wait-until.ts'

/** The two things a runtime's server must offer for a graceful shutdown. */
export interface Listener {
  /** Stops accepting connections; resolves once every in-flight request has finished. */
  close(): Promise<void>
  /** Aborts the signals of the requests still in flight: the shutdown timeout has passed. */
  abort(): void
}

export interface ShutdownOptions {
  /** How long in-flight requests, and then `waitUntil` work, may take. */
  timeout: number
}

/** How long aborted requests get to answer before cleanup goes ahead without them. */
const ABORT_GRACE_MS = 1_000

/** Resolves `true` if `promise` settles within `ms`, `false` otherwise. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false)
  })
  try {
    return await Promise.race([promise.then(() => true), expired])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The shutdown sequence shared by the Node and Deno adapters: stop accepting, run the
 * shutdown hooks, let in-flight requests finish (aborting them once `timeout` has passed),
 * await `waitUntil` work, then run the cleanup hooks. Throws when a cleanup failed.
 */
export async function gracefulShutdown<E extends Env>(
  service: Service<E>,
  listener: Listener,
  tracker: WaitUntilTracker,
  { timeout }: ShutdownOptions
): Promise<void> {
  const closed = listener.close()
  await service.shutdown()
  if (!(await settlesWithin(closed, timeout))) {
    console.warn(`edgeio: requests still in flight after ${timeout} ms; aborting them`)
    listener.abort()
    await settlesWithin(closed, ABORT_GRACE_MS)
  }
  if (!(await settlesWithin(tracker.drain(), timeout))) {
    console.warn(`edgeio: ${tracker.pending} waitUntil task(s) unfinished after ${timeout} ms`)
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
