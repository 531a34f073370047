/**
 * Tracing for the example service, switched on by its bindings: `OTEL_DEBUG=1` prints every
 * span to the console, `OTEL_EXPORTER_OTLP_ENDPOINT=<url>` sends them to an OTLP/HTTP
 * collector. Without either, `telemetry()` runs with no SDK (it only calls `next()`) and
 * the SDK (examples/otel-sdk.ts) is never loaded.
 */
import type { Env, MiddlewareHandler } from 'hono'
import { Hono } from 'hono'
import { Semaphore, type Service, Event as SyncEvent, telemetry } from '../src/index.ts'
import type { OtelBindings, OtelSdk } from './otel-sdk.ts'

/**
 * Workers may stop the isolate once the response is sent: there the spans are flushed inside
 * the request's `waitUntil`. On Node, Deno and Bun the batch processor exports on its own,
 * and the graceful shutdown exports the rest.
 */
const onWorkers = globalThis.navigator?.userAgent === 'Cloudflare-Workers'

/** `undefined` until the first request read the bindings, then the SDK or `null` (off). */
let sdk: OtelSdk | null | undefined
let loading: Promise<OtelSdk | null> | undefined

function wanted(env: OtelBindings | undefined): boolean {
  return Boolean(env?.OTEL_EXPORTER_OTLP_ENDPOINT) || Boolean(env?.OTEL_DEBUG)
}

/**
 * The example's tracing middleware: registers the SDK on the first request when a binding
 * asks for it (bindings are known only then on Workers, and no I/O may happen at top level),
 * then `telemetry()`. The cleanup hook shuts the SDK down after the drain, which exports
 * the spans of the requests that were in flight at SIGTERM.
 */
export function exampleTelemetry<E extends Env>(service: Service<E>): MiddlewareHandler[] {
  service.onCleanup(async () => {
    await (await loading)?.shutdown()
  })
  const register: MiddlewareHandler = async function registerOtel(c, next) {
    if (sdk === undefined) {
      const env = c.env as OtelBindings | undefined
      loading ??= wanted(env)
        ? import('./otel-sdk.ts').then((module) => module.registerOtelSdk(env ?? {}))
        : Promise.resolve(null)
      sdk = await loading
    }
    return next()
  }
  return [
    register,
    telemetry({ flush: onWorkers ? () => sdk?.flush() ?? Promise.resolve() : undefined }),
  ]
}

// ---- a request that waits: /telemetry/wait ---------------------------------------------

/** One permit: a second request waits while the first holds it (a `Semaphore.acquire telemetry` span). */
const semaphore = new Semaphore(1, { name: 'telemetry' })
/** Per key: set by `POST /telemetry/release` to let the holder go. */
const releases = new Map<string, SyncEvent>()
const states = new Map<string, { holding: boolean; waiting: number }>()

/**
 * `GET /telemetry/wait?key=K&hold` takes the permit and keeps it until `POST
 * /telemetry/release?key=K`; `GET /telemetry/wait?key=K` (sent while it holds) waits for the
 * permit, then does its work in a span of its own (`telemetry.work`). `GET
 * /telemetry/state?key=K` says when the holder holds and the waiter waits. Waits end after
 * 10 s at most.
 */
export const telemetryRoutes = new Hono()
  .get('/wait', async (c) => {
    const key = c.req.query('key') ?? ''
    const signal = AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(10_000)])
    const state = states.get(key) ?? { holding: false, waiting: 0 }
    states.set(key, state)
    if (c.req.query('hold') !== undefined) {
      const release = new SyncEvent()
      releases.set(key, release)
      await semaphore.acquire({ signal })
      state.holding = true
      try {
        await release.wait({ signal })
      } finally {
        state.holding = false
        semaphore.release()
      }
      return c.json({ held: true })
    }
    state.waiting++ // acquire() parks synchronously: once the count shows, the wait has begun
    await semaphore.acquire({ signal })
    state.waiting--
    try {
      const { trace } = await import('@opentelemetry/api')
      await trace.getTracer('example').startActiveSpan('telemetry.work', async (span) => {
        await new Promise((resolve) => setTimeout(resolve, 5)) // the work
        span.end()
      })
    } finally {
      semaphore.release()
    }
    return c.json({ waited: true })
  })
  .post('/release', (c) => {
    const release = releases.get(c.req.query('key') ?? '')
    release?.set()
    return c.json({ released: release !== undefined })
  })
  .get('/state', (c) => c.json(states.get(c.req.query('key') ?? '') ?? null))
