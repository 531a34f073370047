import { afterAll, beforeAll, describe, test } from 'vitest'
import { type NodeServer, serve } from '../../adapters/node.ts'
import { service } from '../../examples/app.ts'
import { cases } from './cases.ts'
import type { Client } from './client.ts'

const TOKEN = 'node-conformance-token'
let server: NodeServer
const client: Client = {
  runtime: 'node',
  token: TOKEN,
  get origin() {
    return server.url
  },
  fetch: (path, init) => fetch(`${server.url}${path}`, init),
}

beforeAll(async () => {
  server = await serve(service, {
    port: 0,
    signals: false,
    env: { API_TOKEN: TOKEN, LOG_LEVEL: 'silent' },
  })
})
afterAll(() => server?.close())

describe('conformance [node]', () => {
  for (const c of cases) {
    const reason = c.skip?.node
    if (reason) test.skip(`${c.name} (skipped on node: ${reason})`, () => {})
    else test(c.name, () => c.run(client))
  }
})
