import { serve } from '../../adapters/bun/index.ts'
import { service } from '../app.ts'
import { fleetEnv } from '../fleet.ts'

const server = await serve(service, {
  // With REDIS_URL, this process joins a fleet: locks, rate limits, jobs and sessions on Redis.
  env: await fleetEnv(service, process.env),
  port: Number(process.env.PORT ?? 8787),
  shutdownTimeout: Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000),
  // Unset: edgeio's defaults (30 s each); the conformance suite sets small ones.
  headersTimeout: optionalNumber(process.env.HEADERS_TIMEOUT_MS),
  bodyTimeout: optionalNumber(process.env.BODY_TIMEOUT_MS),
})
console.log(`edgeio example listening on ${server.url}`)

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value)
}
