import { serve } from '../../adapters/deno/index.ts'
import { service } from '../app.ts'
import { fleetEnv } from '../fleet.ts'

const server = await serve(service, {
  // With REDIS_URL, this process joins a fleet: locks, rate limits, jobs and sessions on Redis.
  env: await fleetEnv(service, Deno.env.toObject()),
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
