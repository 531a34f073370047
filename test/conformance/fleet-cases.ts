/**
 * What a fleet on Redis must show that one process cannot: two server processes of the
 * example (one Node, one Deno) on one Redis, a client talking to both. Each case sends part
 * of its requests to each process and checks that they behave as one service.
 */
import { expect } from 'vitest'
import type { Client } from './client.ts'
import { eventually } from './client.ts'
import { getFrom, login, uniqueAddress } from './identities.ts'

/** A case that needs two processes of the service: `client` and `peer`. */
export interface FleetCase {
  name: string
  timeoutMs?: number
  run(client: Client, peer: Client): Promise<void>
}

let unique = 0
const uniqueName = (what: string) => `fleet-${what}-${Date.now()}-${++unique}`

export const fleetCases: FleetCase[] = [
  {
    name: 'fleet: 200 increments spread over two processes under one DistributedLock end exact',
    timeoutMs: 30_000,
    async run(client, peer) {
      const name = uniqueName('counter')
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 ? peer : client).fetch(`/distributed/counters/${name}/increment`, {
            method: 'POST',
          })
        )
      )
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200))
      const results = (await Promise.all(responses.map((r) => r.json()))) as {
        value: number
        token: number
      }[]
      const byValue = [...results].sort((a, b) => a.value - b.value)
      expect(byValue.map((r) => r.value)).toEqual(results.map((_, i) => i + 1))
      for (let i = 1; i < byValue.length; i++) {
        expect(byValue[i]!.token).toBeGreaterThan(byValue[i - 1]!.token)
      }
      const read = await peer.fetch(`/distributed/counters/${name}`)
      expect(((await read.json()) as { value: number }).value).toBe(200)
    },
  },
  {
    name: 'fleet: without the lock, the same increments over two processes lose updates (control)',
    async run(client, peer) {
      const name = uniqueName('unlocked')
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? peer : client).fetch(
            `/distributed/counters/${name}/increment?unlocked&work=50`,
            { method: 'POST' }
          )
        )
      )
      for (const res of responses) await res.body?.cancel()
      const read = await client.fetch(`/distributed/counters/${name}`)
      expect(((await read.json()) as { value: number }).value).toBeLessThan(40)
    },
  },
  {
    name: 'fleet: one client is counted once by the rate limit, whichever process answers (3 of 10)',
    async run(client, peer) {
      const address = uniqueAddress()
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          getFrom(i % 2 ? peer : client, address, '/distributed/limited')
        )
      )
      expect(responses.map((r) => r.status).sort()).toEqual([
        200, 200, 200, 429, 429, 429, 429, 429, 429, 429,
      ])
    },
  },
  {
    name: 'fleet: a job sent through one process is handled, and its record read through the other',
    timeoutMs: 20_000,
    async run(client, peer) {
      const sent = await client.fetch('/queue/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 12, fail: 1 }),
      })
      expect(sent.status).toBe(202)
      const { id } = (await sent.json()) as { id: string }
      const record = await eventually(async () => {
        const res = await peer.fetch(`/queue/jobs/${id}`)
        const body = (await res.json()) as { status: string; attempts: number; result?: number }
        expect(body.status).toBe('done')
        return body
      }, 15_000)
      expect(record).toMatchObject({ attempts: 2, result: 144 })
    },
  },
  {
    name: 'fleet: a log-out through one process ends the session on the other',
    async run(client, peer) {
      const cookie = await login(client, 'alice', 'wonderland')
      const before = await peer.fetch('/me', { headers: { cookie } })
      expect(before.status).toBe(200)
      await before.body?.cancel()
      const out = await peer.fetch('/logout', {
        method: 'POST',
        headers: { cookie, origin: peer.origin },
      })
      expect(out.status).toBe(204)
      const after = await client.fetch('/me', { headers: { cookie } })
      expect(after.status).toBe(401)
      await after.body?.cancel()
    },
  },
]
