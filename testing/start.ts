/**
 * `startRuntime`: one service on one runtime, behind the same small interface whichever
 * runtime it is, so one test body runs against all of them.
 */
import { openWebSocket, readEvents } from './http.ts'
import { startNode } from './node.ts'
import { startProcess } from './processes.ts'
import type { RunningRuntime } from './running.ts'
import type { RuntimeServer, TestRuntime, TestServiceOptions } from './types.ts'
import { startWorkerd } from './workerd.ts'

/**
 * Starts the service on `runtime` on an ephemeral loopback port and resolves once it
 * listens. Close it when done: that runs the service's graceful shutdown.
 *
 * @example
 * ```ts
 * const server = await startRuntime('deno', { app: './src/app.ts', env: { API_TOKEN: 't' } })
 * const res = await server.fetch('/health')
 * await server.close()
 * ```
 */
export async function startRuntime(
  runtime: TestRuntime,
  options: TestServiceOptions
): Promise<RuntimeServer> {
  const env = typeof options.env === 'function' ? await options.env(runtime) : { ...options.env }
  const running = await start(runtime, options, env)
  return serverOf(runtime, running)
}

function start(
  runtime: TestRuntime,
  options: TestServiceOptions,
  env: Record<string, string>
): Promise<RunningRuntime> {
  switch (runtime) {
    case 'node':
      return startNode(options, env)
    case 'workerd':
      return startWorkerd(options, env)
    case 'deno':
    case 'bun':
      return startProcess(runtime, options, env)
    default:
      throw new Error(`edgeio/testing: unknown runtime ${String(runtime)}`)
  }
}

function serverOf(runtime: TestRuntime, running: RunningRuntime): RuntimeServer {
  const url = running.url.endsWith('/') ? running.url : `${running.url}/`
  let closing: Promise<void> | undefined
  return {
    runtime,
    url,
    fetch: (path, init) => fetch(new URL(path, url), init),
    websocket: (path, protocols) => openWebSocket(url, path, protocols),
    async *events(path, init) {
      const response = await fetch(new URL(path, url), init)
      if (!response.ok) {
        await response.body?.cancel()
        throw new Error(
          `GET ${path} on ${runtime} answered ${response.status}, not an event stream`
        )
      }
      yield* readEvents(response)
    },
    logs: () => running.logs(),
    close: () => {
      closing ??= running.close()
      return closing
    },
  }
}
