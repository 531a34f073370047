import { afterAll, beforeAll, describe, test } from 'vitest'
import { cases } from './cases.ts'
import type { Client } from './client.ts'
import { type ServerProcess, startServer } from './spawn.ts'

// The real deno binary (npm package `deno`) serving examples/deno/main.ts.
const TOKEN = 'deno-conformance-token'
let server: ServerProcess
const client: Client = {
  runtime: 'deno',
  token: TOKEN,
  get origin() {
    return server.url
  },
  fetch: (path, init) => fetch(`${server.url}${path}`, init),
}

beforeAll(async () => {
  server = await startServer('deno', { API_TOKEN: TOKEN })
})
afterAll(async () => {
  server?.child.kill('SIGTERM')
  await server?.exited
})

describe('conformance [deno]', () => {
  for (const c of cases) {
    const reason = c.skip?.deno
    if (reason) test.skip(`${c.name} (skipped on deno: ${reason})`, () => {})
    else test(c.name, () => c.run(client))
  }
})
