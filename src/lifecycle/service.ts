import type { Env, Hono } from 'hono'
import type { Executor, ExecutorFactory, ExecutorOptions } from '../executor/executor.ts'
import { ManagedExecutor } from '../executor/managed.ts'
import type { TaskModule, TaskSource } from '../executor/tasks.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { checkLimit, DEFAULT_MAX_BODY_BYTES, limitRequestBody } from './body-limit.ts'

/** A startup, shutdown or cleanup hook. It receives the service it belongs to. */
export type Hook<E extends Env = Env> = (service: Service<E>) => void | Promise<void>

/**
 * A cleanup context, as in aiohttp's `cleanup_ctx`: the code before the single `yield` is
 * startup, the code after it is cleanup. The cleanup half runs only if the startup half
 * finished, so a resource is released exactly when it was acquired.
 */
export type CleanupContext<E extends Env = Env> = (
  service: Service<E>
) => AsyncGenerator<unknown, void, void>

/** Where a service is in its life. */
export type ServiceState = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' | 'failed'

/** One ordered startup step and the cleanup that undoes it. Either half may be absent. */
interface Step {
  startup?: () => Promise<void>
  cleanup?: () => Promise<void>
}

/** The fetch signature every runtime calls: the one of Hono's `app.fetch`. */
export type FetchHandler<E extends Env = Env> = Hono<E>['fetch']

/** Options of a `Service`. */
export interface ServiceOptions {
  /**
   * Largest request body any route reads, in bytes, unless a route's `bodyLimit()` raises
   * or lowers it. Default 1 MiB (aiohttp's `client_max_size`); `Infinity` or `false`: none.
   * Enforced while the body streams in, on every runtime: a body over it fails to read
   * with a `PayloadTooLargeError`, which `errorHandler` answers with a 413.
   */
  maxBodyBytes?: number | false
}

/**
 * A Hono app plus its lifecycle, modelled on aiohttp's `on_startup`, `on_shutdown`,
 * `on_cleanup` and `cleanup_ctx`.
 *
 * Startup steps (startup hooks and the first half of cleanup contexts) run in the order
 * they were registered. Cleanup runs in reverse order, and a step's cleanup runs if and
 * only if startup got past that step: a cleanup hook registered after a failing startup
 * hook never runs, one registered before it does. Shutdown hooks run when the server
 * stops accepting, before in-flight requests are drained (close WebSockets there).
 *
 * The adapters drive it: Node and Deno run startup before listening and the rest on
 * SIGTERM/SIGINT; Workers run startup once per isolate on the first event (isolates are
 * evicted without notice, so shutdown and cleanup never run there).
 *
 * Every request body is limited to `maxBodyBytes` (default 1 MiB) while it streams in;
 * `bodyLimit()` raises or lowers that per route.
 *
 * @example
 * ```ts
 * const app = new Hono()
 * export const service = new Service(app)
 * service.cleanupCtx(async function* () {
 *   const db = await connect()
 *   yield
 *   await db.close()
 * })
 * ```
 */
export class Service<E extends Env = Env> {
  readonly app: Hono<E>
  readonly fetch: FetchHandler<E>
  /** The request body limit of every route without a `bodyLimit()` of its own, in bytes. */
  readonly maxBodyBytes: number
  #steps: Step[] = []
  #shutdownHooks: Hook<E>[] = []
  #started = 0 // how many steps finished their startup
  #state: ServiceState = 'idle'
  #startup: Promise<void> | undefined

  constructor(app: Hono<E>, options: ServiceOptions = {}) {
    this.app = app
    const limit = options.maxBodyBytes
    this.maxBodyBytes =
      limit === false
        ? Number.POSITIVE_INFINITY
        : checkLimit(limit ?? DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes')
    const maxBodyBytes = this.maxBodyBytes
    const appFetch = app.fetch
    // GET and HEAD, and bodies whose Content-Length is within the limit, go through as they
    // are; only the other bodies get a counting wrapper (src/lifecycle/body-limit.ts).
    this.fetch =
      maxBodyBytes === Number.POSITIVE_INFINITY
        ? appFetch
        : (request, env, executionCtx) => {
            const method = request.method
            return appFetch(
              method === 'GET' || method === 'HEAD'
                ? request
                : limitRequestBody(request, maxBodyBytes),
              env,
              executionCtx
            )
          }
  }

  get state(): ServiceState {
    return this.#state
  }

  /** Runs `hook` at startup, in registration order. */
  onStartup(hook: Hook<E>): this {
    this.#steps.push({ startup: async () => hook(this) })
    return this
  }

  /** Runs `hook` when the server stops accepting requests, before they are drained. */
  onShutdown(hook: Hook<E>): this {
    this.#shutdownHooks.push(hook)
    return this
  }

  /** Runs `hook` at cleanup, if startup got as far as this registration. */
  onCleanup(hook: Hook<E>): this {
    this.#steps.push({ cleanup: async () => hook(this) })
    return this
  }

  /** Registers an async generator whose halves are a startup and its cleanup. */
  cleanupCtx(context: CleanupContext<E>): this {
    let generator: AsyncGenerator<unknown, void, void> | undefined
    this.#steps.push({
      startup: async () => {
        generator = context(this)
        const first = await generator.next()
        if (first.done) throw new Error('cleanup context finished without yielding')
      },
      cleanup: async () => {
        const second = await generator?.next()
        if (second && !second.done) throw new Error('cleanup context yielded more than once')
      },
    })
    return this
  }

  // ---- executors (src/executor) ---------------------------------------------------------

  /**
   * Makes the executors declared with {@link executor}, instead of the runtime's own
   * (worker threads on Node, Web Workers on Deno and Bun, inline on Workers). Unset: the
   * runtime's; not served (a test that runs `startup()` itself): inline.
   */
  executorFactory: ExecutorFactory | undefined

  /**
   * The runtime serving this service, set by the adapter before startup (`serve()`,
   * `toWorker()`); `undefined` until then. Startup hooks reach it through the service
   * (`openConnection(service, …)`); handlers through their request.
   */
  get runtime(): Runtime | undefined {
    return this.#runtime
  }
  #runtime: Runtime | undefined

  /**
   * Called by an adapter before it starts the service: the runtime it is served on. A
   * service is served on one runtime; serving it again (a second port) on the same one is
   * fine.
   */
  attachRuntime(runtime: Runtime): void {
    if (this.#runtime !== undefined && this.#runtime !== runtime) {
      throw new Error(`edgeio: served on ${this.#runtime.name}, not also ${runtime.name}`)
    }
    this.#runtime = runtime
  }

  /**
   * Declares an executor for a task module. It is made at startup by `executorFactory`
   * and closed at cleanup; the returned handle can be kept at module level and used by
   * handlers once the service has started.
   *
   * @example
   * ```ts
   * import * as cpu from './cpu-tasks.ts'
   * const hasher = service.executor(defineTasks(cpu, './cpu-tasks.ts', import.meta.url), {
   *   size: 2,
   *   maxQueue: 16,
   * })
   * app.get('/hash', async (c) => c.json(await hasher.run('sha256', c.req.query('q') ?? '')))
   * ```
   */
  executor<M extends TaskModule>(tasks: TaskSource<M>, options: ExecutorOptions = {}): Executor<M> {
    const managed = new ManagedExecutor(tasks, options)
    this.cleanupCtx((service) =>
      managed.lifetime(service.executorFactory ?? service.runtime?.createExecutor)
    )
    return managed
  }

  // ----------------------------------------------------------------------------------------

  /**
   * Runs the startup steps once; later calls return the same promise. When a step fails,
   * the steps that finished are cleaned up (in reverse) and the error is rethrown; the next
   * call starts over (a Worker retries on its next event).
   */
  startup(): Promise<void> {
    this.#startup ??= this.#runStartup().catch((error: unknown) => {
      this.#startup = undefined
      throw error
    })
    return this.#startup
  }

  /** Runs the shutdown hooks in order. A failing hook is logged; the others still run. */
  async shutdown(): Promise<void> {
    if (this.#state === 'started') this.#state = 'stopping'
    for (const hook of this.#shutdownHooks) {
      try {
        await hook(this)
      } catch (error) {
        console.error('edgeio: shutdown hook failed:', error)
      }
    }
  }

  /**
   * Runs the cleanups of every step whose startup finished, in reverse order. All of them
   * run even when some fail; the failures are then thrown together as an `AggregateError`.
   */
  async cleanup(): Promise<void> {
    const errors = await this.#cleanupSteps()
    this.#state = 'stopped'
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed')
  }

  async #runStartup(): Promise<void> {
    this.#state = 'starting'
    try {
      for (const step of this.#steps) {
        await step.startup?.()
        this.#started++
      }
    } catch (error) {
      this.#state = 'failed'
      const errors = await this.#cleanupSteps()
      for (const cleanupError of errors) console.error('edgeio: cleanup failed:', cleanupError)
      throw error
    }
    this.#state = 'started'
  }

  async #cleanupSteps(): Promise<unknown[]> {
    const errors: unknown[] = []
    while (this.#started > 0) {
      this.#started--
      try {
        await this.#steps[this.#started]?.cleanup?.()
      } catch (error) {
        errors.push(error)
      }
    }
    return errors
  }
}

/** Something an adapter can serve: a `Service`, or a bare Hono app (no lifecycle hooks). */
export type Servable<E extends Env = Env> = Service<E> | Hono<E>

/** Wraps a bare Hono app in a `Service` so adapters handle one shape. */
export function toService<E extends Env>(servable: Servable<E>): Service<E> {
  return servable instanceof Service ? servable : new Service(servable)
}
