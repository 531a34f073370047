// Plain Hono on Deno.serve.
import { app } from './app.ts'

// Deno's global, declared here because the repository type-checks bench/ against Node's types.
declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen: () => void },
    handler: (request: Request, info: unknown) => Response | Promise<Response>
  ): unknown
  env: { get(name: string): string | undefined }
}

Deno.serve(
  {
    port: Number(Deno.env.get('PORT')),
    hostname: '127.0.0.1',
    onListen: () => console.log('ready'),
  },
  // As Hono's docs show it: Deno's handler info becomes c.env.
  app.fetch
)
