import { serve } from '../../adapters/deno/index.ts'
import { service } from '../app.ts'

// With REDIS_URL, this process joins a fleet: locks, rate limits, jobs and sessions on Redis
// (examples/redis-bindings.ts, loaded only then).
const redisUrl = Deno.env.get('REDIS_URL')
const env = redisUrl
  ? {
      ...Deno.env.toObject(),
      ...(await import('../redis-bindings.ts')).redisBindings(service, redisUrl),
    }
  : undefined

const server = await serve(service, {
  env,
  port: Number(Deno.env.get('PORT') ?? 8787),
  shutdownTimeout: Number(Deno.env.get('SHUTDOWN_TIMEOUT_MS') ?? 10_000),
  // Unset: edgeio's defaults (30 s each); the conformance suite sets small ones.
  headersTimeout: optionalNumber(Deno.env.get('HEADERS_TIMEOUT_MS')),
  bodyTimeout: optionalNumber(Deno.env.get('BODY_TIMEOUT_MS')),
})
console.log(`edgeio example listening on ${server.url}`)

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value)
}
