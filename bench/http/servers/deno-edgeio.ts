// edgeio's Deno adapter as users run it: lifecycle, waitUntil tracking, the forced-abort
// signal and graceful-shutdown signal handlers all on.
import { Service } from '../../../src/index.ts'
import { app } from './app.ts'

// adapters/deno/index.ts needs Deno's types, which the repository's Node type-check lacks: it is
// imported by URL, with the one signature used here.
const adapter = new URL('../../../adapters/deno/index.ts', import.meta.url).href
const { serve } = (await import(adapter)) as {
  serve(service: Service, options: { hostname: string }): Promise<unknown>
}

const service = new Service(app)
service.onStartup(() => {})
await serve(service, { hostname: '127.0.0.1' })
console.log('ready')
