import { serve } from '../../adapters/node.ts'
import { service } from '../app.ts'

const server = await serve(service, {
  port: Number(process.env.PORT ?? 8787),
  shutdownTimeout: Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000),
})
console.log(`edgeio example listening on ${server.url}`)
