/**
 * Conformance cases of the executor (src/executor) through the example's `/hash` routes:
 * worker threads on node, Web Workers on deno and bun, inline in workerd.
 */
import { expect } from 'vitest'
import type { ConformanceCase } from './cases.ts'
import { type Client, eventually, type Runtime } from './client.ts'

/** As in examples/cpu-tasks.ts: a job this long outlives every check made while it runs. */
const MAX_ROUNDS = 10_000_000
const NO_THREADS = 'no threads in an isolate: the executor runs inline and blocks it'

let unique = 0
const uniqueId = (runtime: Runtime) => `${runtime}-hash-${Date.now()}-${++unique}`

/** SHA-256 applied `rounds` times, with Web Crypto (the reference for the server's own). */
async function sha256Rounds(text: string, rounds: number): Promise<string> {
  let digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  for (let i = 1; i < rounds; i++) digest = await crypto.subtle.digest('SHA-256', digest)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

const hash = (client: Client, query: string, init: RequestInit = {}) =>
  client.fetch(`/hash?${query}`, { method: 'POST', body: 'abc', ...init })

interface Pool {
  size: number
  maxQueue: number
  running: number
  queued: number
}
const pool = async (client: Client) => (await (await client.fetch('/hash/pool')).json()) as Pool

/** Starts a hash that runs until aborted; the promise never rejects (the abort is the point). */
function endlessHash(client: Client, id: string) {
  const controller = new AbortController()
  let settled = false
  const response = hash(client, `id=${id}&rounds=${MAX_ROUNDS}`, { signal: controller.signal })
    .catch(() => undefined)
    .finally(() => {
      settled = true
    })
  return { stop: () => controller.abort(), settled: () => settled, response }
}

export const executorCases: ConformanceCase[] = [
  {
    name: 'executor: POST /hash answers SHA-256 of the body, iterated `rounds` times',
    async run(client) {
      const once = await hash(client, 'rounds=1')
      expect(once.status).toBe(200)
      expect(await once.json()).toEqual({
        rounds: 1,
        digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      })
      const many = await hash(client, 'rounds=1000')
      expect(await many.json()).toEqual({ rounds: 1000, digest: await sha256Rounds('abc', 1000) })
    },
  },
  {
    name: "executor: a task's error crosses back with its message (422)",
    async run(client) {
      for (const rounds of ['0', 'many', String(MAX_ROUNDS + 1)]) {
        const res = await hash(client, `rounds=${rounds}`)
        expect(res.status).toBe(422)
        expect(await res.json()).toEqual({
          error: `rounds must be an integer from 1 to ${MAX_ROUNDS}`,
        })
      }
      expect((await hash(client, 'rounds=2')).status).toBe(200) // and the executor goes on
    },
  },
  {
    name: 'executor: the event loop keeps answering while a hash runs; a client that leaves stops it',
    skip: { workerd: NO_THREADS },
    async run(client) {
      const id = uniqueId(client.runtime)
      const job = endlessHash(client, id)
      await eventually(async () => {
        expect(await (await client.fetch(`/hash/${id}`)).json()).toEqual({ id, state: 'running' })
        expect(await pool(client)).toMatchObject({ running: 1, queued: 0 })
      })
      // Twenty requests answered one after another, and more at once, while it hashes.
      for (let i = 0; i < 20; i++) expect((await client.fetch('/health')).status).toBe(200)
      const burst = await Promise.all(Array.from({ length: 20 }, () => client.fetch('/')))
      expect(burst.map((r) => r.status)).toEqual(Array(20).fill(200))
      await Promise.all(burst.map((r) => r.body?.cancel()))
      expect(job.settled()).toBe(false)
      expect(await pool(client)).toMatchObject({ running: 1 })

      job.stop()
      await job.response
      await eventually(async () => {
        expect(await (await client.fetch(`/hash/${id}`)).json()).toEqual({ id, state: 'aborted' })
        expect(await pool(client)).toMatchObject({ running: 0, queued: 0 })
      })
      expect((await hash(client, 'rounds=1')).status).toBe(200) // a fresh thread took over
    },
  },
  {
    name: 'executor: past the pool and its backlog, a hash is refused with 503 and Retry-After',
    skip: { workerd: NO_THREADS },
    async run(client) {
      const { size, maxQueue } = await pool(client)
      const jobs = Array.from({ length: size + maxQueue }, () =>
        endlessHash(client, uniqueId(client.runtime))
      )
      try {
        await eventually(async () => {
          expect(await pool(client)).toEqual({ size, maxQueue, running: size, queued: maxQueue })
        })
        const refused = await hash(client, 'rounds=1')
        expect(refused.status).toBe(503)
        expect(refused.headers.get('retry-after')).toBe('1')
        expect(await refused.json()).toEqual({
          error: 'Service Unavailable: too many hashes queued',
        })
      } finally {
        for (const job of jobs) job.stop()
        await Promise.all(jobs.map((job) => job.response))
      }
      await eventually(async () => {
        expect(await pool(client)).toMatchObject({ running: 0, queued: 0 })
      })
      expect((await hash(client, 'rounds=1')).status).toBe(200)
    },
  },
]
