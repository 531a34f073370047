import { exports } from 'cloudflare:workers'
import { describe, test } from 'vitest'
import { cases } from '../conformance/cases.ts'
import type { Client } from '../conformance/client.ts'

// Runs inside workerd: requests go to the worker of the root wrangler.toml
// (examples/workers/index.ts), each one a request context of its own.
const worker = (exports as unknown as { default: Fetcher }).default
const client: Client = {
  runtime: 'workerd',
  token: 'workerd-conformance-token', // set in vitest.config.ts
  origin: 'http://edgeio.test',
  fetch: (path, init) => worker.fetch(new Request(`http://edgeio.test${path}`, init)),
}

describe('conformance [workerd]', () => {
  for (const c of cases) {
    const reason = c.skip?.workerd
    if (reason) test.skip(`${c.name} (skipped on workerd: ${reason})`, () => {})
    else test(c.name, () => c.run(client))
  }
})
