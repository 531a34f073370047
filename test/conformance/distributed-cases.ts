/**
 * Conformance cases of the distributed primitives through the example's `/distributed`
 * routes (examples/distributed-routes.ts): the EdgeioCoordinator Durable Object on workerd,
 * the in-process coordinator on node and deno. Same HTTP behaviour everywhere.
 */
import { expect } from 'vitest'
import type { ConformanceCase } from './cases.ts'
import type { Client, Runtime } from './client.ts'
import { getFrom, login, uniqueAddress } from './identities.ts'

let unique = 0
const uniqueId = (runtime: Runtime, what: string) => `${runtime}-${what}-${Date.now()}-${++unique}`

interface Increment {
  name: string
  value: number
  token: number
}

function increment(client: Client, name: string, query = ''): Promise<Response> {
  return client.fetch(`/distributed/counters/${name}/increment${query}`, { method: 'POST' })
}

async function counter(client: Client, name: string): Promise<number> {
  const res = await client.fetch(`/distributed/counters/${name}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { value: number }).value
}

export const distributedCases: ConformanceCase[] = [
  {
    name: 'distributed: 200 concurrent increments under a DistributedLock end exact, fenced in order',
    // 200 hand-offs in a row: on workerd each is two Durable Object writes and a few round
    // trips (≈ 50–75 ms each on a loaded 2-core machine), so 10–15 s there.
    timeoutMs: 60_000,
    async run(client) {
      const name = uniqueId(client.runtime, 'counter')
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => increment(client, name))
      )
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200))
      const results = (await Promise.all(responses.map((r) => r.json()))) as Increment[]
      expect(await counter(client, name)).toBe(200)
      // Each increment saw the previous one's write, and tokens rise with the values.
      const byValue = [...results].sort((a, b) => a.value - b.value)
      expect(byValue.map((r) => r.value)).toEqual(results.map((_, i) => i + 1))
      for (let i = 1; i < byValue.length; i++) {
        expect(byValue[i]!.token).toBeGreaterThan(byValue[i - 1]!.token)
      }
    },
  },
  {
    name: 'distributed: the same read-modify-write without the lock loses updates (control)',
    async run(client) {
      const name = uniqueId(client.runtime, 'unlocked')
      const responses = await Promise.all(
        Array.from({ length: 50 }, () => increment(client, name, '?unlocked&work=50'))
      )
      for (const res of responses) await res.body?.cancel()
      expect(await counter(client, name)).toBeLessThan(50)
    },
  },
  {
    name: 'distributed: the coordinator-backed rate limit admits exactly 3 of 10 concurrent requests',
    async run(client) {
      // Anonymous requests are counted per client address: a new one per run isolates it.
      const address = uniqueAddress()
      const get = (headers: Record<string, string> = {}) =>
        getFrom(client, address, '/distributed/limited', headers)
      const responses = await Promise.all(Array.from({ length: 10 }, () => get()))
      const statuses = responses.map((r) => r.status).sort()
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429])
      for (const res of responses) {
        expect(res.headers.get('RateLimit-Limit')).toBe('3')
        if (res.status === 429) expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0)
      }
      // Still refused afterwards, and a fresh X-API-Key (which a client mints at will) does
      // not give the quota back.
      expect((await get()).status).toBe(429)
      expect((await get({ 'x-api-key': uniqueId(client.runtime, 'key') })).status).toBe(429)
      // Credentials that prove no one, malformed or wrong, leave the request anonymous.
      expect((await get({ authorization: 'garbage' })).status).toBe(429)
      expect((await get({ authorization: 'Bearer not-the-token' })).status).toBe(429)
      // Another address is counted apart.
      const other = await getFrom(client, uniqueAddress(), '/distributed/limited')
      expect(other.status).toBe(200)
      expect(JSON.parse(other.body)).toEqual({ ok: true })
      // A logged-in user is counted by identity, not by address: bob, admitted from a fresh
      // address with quota left, is admitted from the spent address too. (Bob's quota is
      // fresh on node and deno, whose coordinator lives in the server process; the Durable
      // Object's storage outlives a workerd run, so a run a minute earlier may have spent it.)
      const cookie = await login(client, 'bob', 'builder')
      const elsewhere = await getFrom(client, uniqueAddress(), '/distributed/limited', { cookie })
      expect(elsewhere.headers.get('RateLimit-Limit')).toBe('3')
      if (client.runtime !== 'workerd') expect(elsewhere.status).toBe(200)
      const here = await get({ cookie })
      if (elsewhere.status === 200 && Number(elsewhere.headers.get('RateLimit-Remaining')) > 0) {
        expect(here.status).toBe(200)
      }
    },
  },
]
