/**
 * Workers adapter: a module-worker export whose `fetch` serves the service and whose other
 * handlers (`scheduled`, `queue`, …) are the user's own. Startup hooks run once per isolate,
 * before the first event of any kind; a failed startup is retried on the next event.
 * Isolates are evicted without notice, so shutdown and cleanup hooks never run here.
 */
import type { Env } from 'hono'
import { createInlineExecutor } from '../../src/executor/index.ts'
import type { FetchHandler, Servable } from '../../src/index.ts'
import {
  type Runtime,
  SERVER_SCOPE,
  ServerScope,
  toService,
  type WebSocketSupport,
} from '../../src/internal.ts'
import { serveAssets } from '../../src/static/index.ts'
import { connectWorkers } from './tcp.ts'
import { upgradeWebSocket } from './websocket.ts'

/** What the runtime-neutral helpers get from workerd. */
export const runtime: Runtime = {
  name: 'workerd',
  connect: connectWorkers,
  serveStatic: serveAssets,
  webSocket: { upgrade: upgradeWebSocket as WebSocketSupport['upgrade'], pingsItself: false },
  // No threads in an isolate: executors declared with service.executor() run inline.
  createExecutor: createInlineExecutor,
  // Set by Cloudflare's edge, which overwrites any value the client sent.
  clientAddress: (c) => c.req.header('cf-connecting-ip'),
  cutsWorkAfterResponse: true,
}

/**
 * `env` carrying the isolate's scope, for the helpers (`serverScope(c)`). workerd hands
 * each request the same bindings object, so the scope is set on it once, as a symbol no
 * binding lookup or `Object.keys` sees; a frozen one is wrapped instead.
 */
function scoped<T extends object>(env: T, scope: ServerScope): T {
  if ((env as { [SERVER_SCOPE]?: ServerScope })[SERVER_SCOPE] === scope) return env
  const property = { value: scope, configurable: true }
  return Object.isExtensible(env)
    ? Object.defineProperty(env, SERVER_SCOPE, property)
    : (Object.create(env, { [SERVER_SCOPE]: property }) as T)
}

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
  service.attachRuntime(runtime)
  // One isolate is one server here: its WebSockets and streams are never drained.
  const scope = new ServerScope(runtime)
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
      ? service.fetch(request, scoped(env ?? {}, scope), ctx)
      : service.startup().then(() => service.fetch(request, scoped(env ?? {}, scope), ctx))
  return { ...(worker as Omit<H, 'fetch'>), fetch }
}
export { EdgeioCoordinator } from './coordinator.ts'
