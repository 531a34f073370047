/**
 * The shapes of `edgeio/testing`: which runtimes a service can be started on, how to tell
 * the helper where the service is, and what a test gets back.
 */

/** The runtimes a service can be tested on. */
export type TestRuntime = 'node' | 'workerd' | 'deno' | 'bun'

/** Variables for the service under test. */
export type TestEnv = Record<string, string>

/** Where a service is and how each runtime gets it. */
export interface TestServiceOptions {
  /**
   * The module exporting the `Service` (path relative to `cwd`). Node imports it into the
   * test process; Deno and Bun run a small generated entry that imports it and serves it
   * through `edgeio/deno` / `edgeio/bun`. workerd is started from `wrangler` instead.
   */
  app?: string
  /** The export of `app` holding the service: `service`, else the default export. */
  exportName?: string
  /**
   * Entries that serve the service themselves, per process runtime, instead of the generated
   * one. They are started with `PORT=0` and must print `listening on <url>` once they listen.
   */
  entries?: Partial<Record<'deno' | 'bun', string>>
  /** The wrangler configuration workerd is started from: `wrangler.toml` in `cwd` by default. */
  wrangler?: string
  /** What wrangler prints of workerd's log: `error` by default. */
  workerdLogLevel?: 'none' | 'error' | 'warn' | 'info' | 'log' | 'debug'
  /**
   * Variables given to the service as its bindings (plain-text bindings on workerd), or a
   * function of the runtime that returns them, called when that runtime starts: for values
   * known only once the file's own `beforeAll` ran (a port, a certificate), or that differ
   * per runtime.
   */
  env?: TestEnv | ((runtime: TestRuntime) => TestEnv | Promise<TestEnv>)
  /**
   * Deno's permissions and flags: `--allow-net --allow-env --allow-read` by default, plus
   * `--node-modules-dir=manual` where `cwd` has a node_modules folder.
   */
  denoFlags?: readonly string[]
  /** The project folder: `process.cwd()` by default. */
  cwd?: string
  /** How long a runtime may take to start listening: 60 s by default. */
  startTimeoutMs?: number
  /** How long a process runtime may take to exit after SIGTERM before it is killed: 15 s. */
  stopTimeoutMs?: number
}

/** One server-sent event as a test reads it. */
export interface ServerSentEvent {
  event?: string
  data?: string
  id?: string
}

/**
 * A service running on one runtime, reached over real HTTP on a loopback port. For typed
 * calls, Hono's own client takes the URL: `hc<AppType>(server.url)`.
 */
export interface RuntimeServer {
  readonly runtime: TestRuntime
  /** The server's base URL, ending in `/`. */
  readonly url: string
  /** `fetch` with `path` resolved against the server's URL. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** Opens a WebSocket to `path` and resolves once it is open (rejects if it fails to). */
  websocket(path: string, protocols?: string | string[]): Promise<WebSocket>
  /** Requests `path` and yields its server-sent events until the stream ends. */
  events(path: string, init?: RequestInit): AsyncGenerator<ServerSentEvent, void, undefined>
  /**
   * What the runtime printed so far (stdout and stderr of Deno and Bun; Node's go to the
   * test process itself, and workerd's to wrangler's log).
   */
  logs(): string
  /** Shuts the server down gracefully (SIGTERM for processes) and waits until it is gone. */
  close(): Promise<void>
}
