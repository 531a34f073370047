import type { Env } from 'hono'
import type { UnhandledRejectionMode } from './rejections.ts'
import { gracefulShutdown, onTermination, type ShutdownOptions } from './shutdown.ts'
import type { WaitUntilTracker } from './wait-until.ts'

/** What every server adapter (Node, Deno, Bun) accepts. */
export interface ServeOptions {
  /** Port to listen on; `0` picks a free one. Default: `$PORT`, else 8787. */
  port?: number
  /** Default `127.0.0.1`. */
  hostname?: string
  /** How long in-flight requests, then `waitUntil` work, may run on shutdown. Default 10 s. */
  shutdownTimeout?: number
  /** The bindings seen as `c.env`. Default: the process environment. */
  env?: object
  /** Shut down gracefully on SIGTERM and SIGINT, then exit. Default `true`. */
  signals?: boolean
  /**
   * A promise rejection nobody handled: `'log'` writes it (with the request's method and
   * path where known) and serves on, as Workers does; `'exit'` logs it, then exits with
   * code 1. Default `'log'`. Installed when serving starts, removed on `close()`.
   */
  unhandledRejection?: UnhandledRejectionMode
  /**
   * Longest wait, in ms, for a request's head (request line and headers) once a connection
   * is open or between keep-alive requests; answered 408 and closed. Default 30 s. Not on
   * Deno: `Deno.serve` offers no way to bound it (a partial head was held over 65 s, Deno
   * 2.9.6). On Bun it bounds the wait between keep-alive requests (closed, no 408; in whole
   * seconds, at most 255), while Bun itself closes a connection whose head is not complete
   * after ~10 s, whatever this says (measured: 12–13 s, even with a byte every second).
   */
  headersTimeout?: number
  /**
   * Longest wait, in ms, for the next chunk of a request body while the handler reads it;
   * then the body fails with `BodyTimeoutError`, the answer is 408 and the connection is
   * closed. `0` turns it off. Default 30 s. Bodies declared at most 64 KiB long are not
   * guarded this way (the per-request stream costs too much): on Node the connection is
   * closed after this long without a byte; on Deno and Bun they are not bounded (the
   * guard cost POST /echo ~40 % more CPU on Deno; see docs/limits.md).
   */
  bodyTimeout?: number
}

/** What every server adapter returns. */
export interface ServerHandle {
  readonly port: number
  readonly url: string
  readonly waitUntil: WaitUntilTracker
  /** The graceful shutdown (the same as on SIGTERM, without exiting). Idempotent. */
  close(): Promise<void>
}

export const DEFAULT_PORT = 8787
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/** How a runtime delivers termination signals and ends the process. */
export interface ProcessControl {
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', listener: () => void): void
  removeSignalListener(signal: 'SIGTERM' | 'SIGINT', listener: () => void): void
  exit(code: number): void
}

/**
 * The `close()` of a server handle: one graceful shutdown however often it is called, and
 * the same on SIGTERM/SIGINT (then exit) unless `options.signals` is off. The signal
 * listeners go once the shutdown is over, so a server closed in a test leaves nothing.
 */
export function shutdownControl<E extends Env>(
  parts: Omit<ShutdownOptions<E>, 'timeout'>,
  options: Pick<ServeOptions, 'shutdownTimeout' | 'signals'>,
  runtime: ProcessControl
): () => Promise<void> {
  const timeout = options.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  let closing: Promise<void> | undefined
  const terminate = onTermination(close, runtime.exit)
  function close(): Promise<void> {
    closing ??= gracefulShutdown({ ...parts, timeout }).finally(() => {
      runtime.removeSignalListener('SIGTERM', terminate)
      runtime.removeSignalListener('SIGINT', terminate)
    })
    return closing
  }
  if (options.signals ?? true) {
    runtime.addSignalListener('SIGTERM', terminate)
    runtime.addSignalListener('SIGINT', terminate)
  }
  return close
}

/** `http://host:port`, with brackets around an IPv6 host. */
export function serverUrl(hostname: string, port: number): string {
  return `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`
}
