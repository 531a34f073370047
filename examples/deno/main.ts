import { serve } from '../../adapters/deno.ts'
import { service } from '../app.ts'

const server = await serve(service, {
  port: Number(Deno.env.get('PORT') ?? 8787),
  shutdownTimeout: Number(Deno.env.get('SHUTDOWN_TIMEOUT_MS') ?? 10_000),
})
console.log(`edgeio example listening on ${server.url}`)
