/**
 * Workers adapter: a module-worker export whose `fetch` serves the service and whose other
 * handlers (`scheduled`, `queue`, …) are the user's own. Startup hooks run once per isolate,
 * before the first event of any kind; a failed startup is retried on the next event.
 * Isolates are evicted without notice, so shutdown and cleanup hooks never run here.
 */
import type { Env } from 'hono'
import { createInlineExecutor } from '../../src/executor/index.ts'
import type { FetchHandler, Servable } from '../../src/index.ts'
import { serveAssets } from '../../src/index.ts'
import {
  setConnector,
  setStaticServer,
  setWebSocketUpgrader,
  toService,
} from '../../src/internal.ts'
import { connectWorkers } from './tcp.ts'
import { upgradeWebSocket } from './websocket.ts'

setConnector(connectWorkers)
setWebSocketUpgrader(upgradeWebSocket)
setStaticServer(serveAssets)

/** Any event handler: every function type is assignable to this one. */
type EventHandler = (...args: never[]) => unknown

/**
 * @example
 * ```ts
 * import { toWorker } from 'edgeio/workers'
 * export default toWorker(service, {
 *   async scheduled(controller, env, ctx) { … },
 * })
 * ```
 */
export function toWorker<E extends Env, H extends Record<string, EventHandler>>(
  servable: Servable<E>,
  handlers?: H
): Omit<H, 'fetch'> & { fetch: FetchHandler<E> } {
  const service = toService(servable)
  // No threads in an isolate: executors declared with service.executor() run inline.
  service.executorFactory ??= createInlineExecutor
  const worker: Record<string, (...args: never[]) => unknown> = {}
  for (const [name, handler] of Object.entries(handlers ?? {})) {
    const run = handler as (...args: unknown[]) => unknown
    worker[name] = async (...args: unknown[]) => {
      await service.startup()
      return run(...args)
    }
  }
  // Concurrent first requests all await the promise the first one created; that request is
  // alive while it waits, which is the case workerd lets another request wait on.
  const fetch: FetchHandler<E> = (request, env, ctx) =>
    service.state === 'started'
      ? service.fetch(request, env, ctx)
      : service.startup().then(() => service.fetch(request, env, ctx))
  return { ...(worker as Omit<H, 'fetch'>), fetch }
}
export { EdgeioCoordinator } from './coordinator.ts'
