import type { EchoServer } from './echo-server.ts'
import type { UpstreamServer } from './upstream-server.ts'

/** The session secret every runner gives the example, so a case can forge cookies with it. */
export const SESSION_SECRET = 'conformance-session-secret-0123456789'

/** The runtimes the conformance suite runs on. */
export type Runtime = 'node' | 'workerd' | 'deno' | 'bun'

/** How a case reaches the example service on one runtime. */
export interface Client {
  readonly runtime: Runtime
  /** The bearer token the server was started with. */
  readonly token: string
  /** The server's origin, for the `Origin` header of same-origin form posts. */
  readonly origin: string
  /** Fetches `path` (starting with `/`) from the service under test. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** The echo services `/pipe` reaches, to watch its connections from the other end. */
  readonly echo: EchoServer
  /** The HTTP upstream the `/client` routes call (`UPSTREAM_URL`), to read what it saw. */
  readonly upstream: UpstreamServer
}

/** A client reaching the service over HTTP at the base URL `base()` gives once it is up. */
export function httpClient(
  runtime: Runtime,
  token: string,
  base: () => string,
  echo: () => EchoServer,
  upstream: () => UpstreamServer
): Client {
  return {
    runtime,
    token,
    get echo() {
      return echo()
    },
    get upstream() {
      return upstream()
    },
    get origin() {
      return new URL(base()).origin
    },
    fetch: (path, init) => fetch(new URL(path, base()), init),
  }
}

/**
 * Retries `check` until it stops throwing, for state the server changes after it answered
 * (waitUntil work, a disconnect it noticed). Not a sleep: it returns as soon as the
 * condition holds and fails with the last error after `timeoutMs`.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}
