/**
 * What happens to a promise rejection nobody handled while edgeio serves: `'log'` (the
 * default) writes it to `console.error` with the request it came from, where known, and
 * carries on, as Workers does; `'exit'` logs it the same way and then ends the process with
 * code 1, as Node and Deno do on their own.
 */
export type UnhandledRejectionMode = 'log' | 'exit'

/** How a runtime reports unhandled rejections to one listener, and ends the process. */
export interface RejectionRuntime {
  /** Installs `listener`; the runtime's default (crash) must not run while it is installed. */
  install(listener: (reason: unknown) => void): void
  uninstall(listener: (reason: unknown) => void): void
  /** Describes the request whose work rejected (`GET /path`), when the runtime can tell. */
  currentRequest(): string | undefined
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
  let request: string | undefined
  try {
    request = runtime?.currentRequest()
  } catch {
    // The request is gone or unreadable: log without it.
  }
  console.error(
    `edgeio: unhandled promise rejection${request ? ` (during ${request})` : ''}${exit ? '; exiting' : ''}:`,
    reason
  )
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

/** `METHOD /path` of a request, for log lines. */
export function describeRequest(request: Request): string {
  const url = request.url
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const end = url.indexOf('?', start)
  return `${request.method} ${start < 0 ? '/' : url.slice(start, end < 0 ? undefined : end)}`
}
