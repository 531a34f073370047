/**
 * Conformance cases of the job queue through the example's `/queue` routes: Cloudflare
 * Queues (run locally by workerd/miniflare) on workerd, the in-process queue on node and
 * deno. Each case polls the job's record until it settles, with a deadline: on workerd a
 * delivery waits up to `max_batch_timeout` (1 s) and retries are whole seconds apart.
 */
import { expect } from 'vitest'
import type { ConformanceCase } from './cases.ts'
import { type Client, eventually } from './client.ts'

/** Long enough for two retries through the local Cloudflare queue. */
const SETTLE_MS = 15_000

interface JobRecord {
  id: string
  status: string
  attempts: number
  result?: number
  error?: string
}

async function enqueue(client: Client, body: object): Promise<string> {
  const res = await client.fetch('/queue/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(202)
  const { id, status } = (await res.json()) as { id: string; status: string }
  expect(status).toBe('queued')
  expect(res.headers.get('location')).toBe(`/queue/jobs/${id}`)
  return id
}

/** Polls the job's record until its status is `status`, and returns it. */
function settled(client: Client, id: string, status: string): Promise<JobRecord> {
  return eventually(async () => {
    const record = (await (await client.fetch(`/queue/jobs/${id}`)).json()) as JobRecord
    expect(record.status).toBe(status)
    return record
  }, SETTLE_MS)
}

export const queueCases: ConformanceCase[] = [
  {
    name: 'queue: POST /queue/jobs answers 202; the consumer writes the result GET reads',
    async run(client) {
      const id = await enqueue(client, { n: 12 })
      expect(await settled(client, id, 'done')).toEqual({
        id,
        status: 'done',
        attempts: 1,
        result: 144,
      })
    },
  },
  {
    name: 'queue: a job that fails twice is retried with backoff and done on attempt 3',
    async run(client) {
      const id = await enqueue(client, { n: -7, fail: 2 })
      expect(await settled(client, id, 'done')).toEqual({
        id,
        status: 'done',
        attempts: 3,
        result: 49,
      })
    },
  },
  {
    name: 'queue: a job that always fails is dead-lettered after maxRetries (2)',
    async run(client) {
      const id = await enqueue(client, { n: 1, fail: 'always' })
      expect(await settled(client, id, 'dead-lettered')).toEqual({
        id,
        status: 'dead-lettered',
        attempts: 3,
        error: 'attempt 3 failed on purpose',
      })
    },
  },
  {
    name: 'queue: delaySeconds holds a job back at least that long',
    async run(client) {
      const sent = Date.now()
      const id = await enqueue(client, { n: 3, delaySeconds: 1 })
      expect(await settled(client, id, 'done')).toMatchObject({ result: 9 })
      expect(Date.now() - sent).toBeGreaterThanOrEqual(1_000)
    },
  },
  {
    name: 'queue: a malformed job is refused with 422; an unknown id is 404',
    async run(client) {
      const bad = await client.fetch('/queue/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 1.5, fail: -1, delaySeconds: 99 }),
      })
      expect(bad.status).toBe(422)
      expect(await bad.json()).toEqual({
        error: 'Invalid job',
        problems: [
          'n must be an integer from -1000000 to 1000000',
          'fail must be a non-negative integer or "always"',
          'delaySeconds must be a number from 0 to 60',
        ],
      })
      const missing = await client.fetch('/queue/jobs/no-such-job')
      expect(missing.status).toBe(404)
      await missing.body?.cancel()
    },
  },
]
