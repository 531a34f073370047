/**
 * What happens to a promise rejection nobody handled while edgeio serves: `'log'` (the
 * default) writes it to `console.error` and carries on, as Workers does; `'exit'` logs it the same way and then ends the process with
 * code 1, as Node and Deno do on their own.
 */
export type UnhandledRejectionMode = 'log' | 'exit'

/** How a runtime reports unhandled rejections to one listener, and ends the process. */
export interface RejectionRuntime {
  /** Installs `listener`; the runtime's default (crash) must not run while it is installed. */
  install(listener: (reason: unknown) => void): void
  uninstall(listener: (reason: unknown) => void): void
  exit(code: number): void
}

interface Registration {
  mode: UnhandledRejectionMode
  runtime: RejectionRuntime
}

// One listener for the process however many servers run in it (tests start many), so a
// rejection is logged once; it goes when the last server has closed.
const registrations = new Set<Registration>()
let installed: { runtime: RejectionRuntime; listener: (reason: unknown) => void } | undefined

function onUnhandledRejection(reason: unknown): void {
  let runtime: RejectionRuntime | undefined
  let exit = false
  for (const registration of registrations) {
    runtime ??= registration.runtime
    if (registration.mode === 'exit') exit = true
  }
  // No request in the line: following each request with AsyncLocalStorage cost Node
  // ~0.6 µs a request (bench/middleware/inprocess.ts) and Deno 4–10 ms of every start.
  console.error(`edgeio: unhandled promise rejection${exit ? '; exiting' : ''}:`, reason)
  if (exit) runtime?.exit(1)
}

/**
 * Routes unhandled rejections to edgeio's handler while a server runs; returns the function
 * that removes this server's registration (the listener goes with the last one).
 */
export function handleUnhandledRejections(
  mode: UnhandledRejectionMode,
  runtime: RejectionRuntime
): () => void {
  const registration: Registration = { mode, runtime }
  registrations.add(registration)
  if (!installed) {
    installed = { runtime, listener: onUnhandledRejection }
    runtime.install(onUnhandledRejection)
  }
  return () => {
    if (!registrations.delete(registration) || registrations.size > 0 || !installed) return
    installed.runtime.uninstall(installed.listener)
    installed = undefined
  }
}
