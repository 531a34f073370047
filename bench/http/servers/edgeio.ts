// edgeio's Node adapter as users run it: lifecycle, waitUntil tracking, disconnect signal,
// graceful-shutdown signal handlers all on.
import { serve } from '../../../adapters/node/index.ts'
import { Service } from '../../../src/index.ts'
import { app } from './app.ts'

const service = new Service(app)
service.onStartup(() => {})
await serve(service, { port: Number(process.env.PORT) })
console.log('ready')
