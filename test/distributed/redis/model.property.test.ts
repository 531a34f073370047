// The coordinator's model (test/distributed/model.property.test.ts) run against the Redis
// backend: random sequences of acquire (join / re-attach), release (or cancel), renew, clock
// jumps, "alarms" and restarts, through the Lua scripts on a real redis-server, with the
// test-only clock. After every step: the same replies, the same stored holders (ids, tokens,
// expiries) and line as the reference model, never more holders than permits, no waiter while
// a permit is free, tokens handed out in strictly increasing order. Then real clients with
// random aborts and lease expiries racing each other, checked for the same invariants.
import fc from 'fast-check'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CoordinatorStub } from '../../../src/distributed/protocol.ts'
import { resourceName } from '../../../src/distributed/protocol.ts'
import {
  createRedisCoordinator,
  objectKeys,
  type RedisCoordinator,
} from '../../../src/distributed/redis/coordinator.ts'
import { DistributedSemaphore } from '../../../src/distributed/semaphore.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'
import {
  expectedAcquire,
  expectedRelease,
  expectedRenew,
  expectStoredAsModel,
  type Model,
  settle,
  stepOf,
} from '../coordinator-model.ts'

// 'e/"\\' is escaped in JSON: it always takes the scripts' general path, never the fast one.
const step = stepOf(fc.constantFrom('a', 'b', 'c', 'd', 'e/"\\'))

let server: RedisServer
let raw: Redis
beforeAll(async () => {
  server = await startRedis()
  raw = new Redis(server.url)
})
afterAll(async () => {
  raw?.disconnect()
  await server?.stop()
})

describe('Redis coordinator model', () => {
  it('matches the reference model on random histories', async () => {
    // Two coordinators as two processes sharing one clock; a "restart" switches between them.
    const clock = { now: 1_000_000 }
    const now = () => clock.now
    const coordinators: RedisCoordinator[] = [
      createRedisCoordinator({ url: server.url, now }),
      createRedisCoordinator({ url: server.url, now }),
    ]
    let history = 0
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.array(step, { maxLength: 60 }),
          async (permits, steps) => {
            const m: Model = { now: 1_000_000, lastToken: 0, holders: [], waiters: [] }
            clock.now = m.now
            const name = `model-${++history}`
            const key = objectKeys('edgeio', name).resource(name)
            let current = 0
            const stub = (): CoordinatorStub => coordinators[current]!.get(name)
            const granted: number[] = []
            for (const s of steps) {
              switch (s.kind) {
                case 'acquire': {
                  const reply = await stub().acquire({
                    name,
                    id: s.id,
                    permits,
                    leaseMs: s.leaseMs,
                    waitMs: 0,
                  })
                  expect(reply).toEqual(expectedAcquire(m, permits, granted, s.id, s.leaseMs))
                  break
                }
                case 'release': {
                  const reply = await stub().release({ name, id: s.id })
                  expect(reply).toBe(expectedRelease(m, permits, granted, s.id))
                  break
                }
                case 'renew': {
                  const reply = await stub().renew({ name, id: s.id, leaseMs: s.leaseMs })
                  expect(reply).toEqual(expectedRenew(m, permits, granted, s.id, s.leaseMs))
                  break
                }
                case 'advance':
                  m.now += s.ms
                  clock.now = m.now
                  break
                case 'alarm': {
                  // Redis has no alarm: any call touching the resource expires and grants.
                  const snapshot = await stub().inspect(name)
                  settle(m, permits, granted)
                  expect(snapshot.holders).toEqual(m.holders)
                  expect(snapshot.waiters).toEqual(
                    m.waiters.map(({ id, expiresAt }) => ({ id, expiresAt }))
                  )
                  break
                }
                case 'restart':
                  current = 1 - current
                  break
              }
              if (s.kind === 'advance' || s.kind === 'restart') continue
              // Compare the stored state as the step left it (no further expiry applied).
              const text = await raw.get(key)
              if (text === null) {
                expect(m.holders).toEqual([])
                continue
              }
              const stored = JSON.parse(text) as Model & { permits: number }
              expect(stored.permits).toBe(permits)
              expectStoredAsModel(stored, m, permits)
            }
            expect(granted).toEqual(granted.map((_, i) => i + 1))
          }
        ),
        { numRuns: 600 }
      )
    } finally {
      await Promise.all(coordinators.map((c) => c.close()))
    }
  })

  it('real clients with random aborts and crashed holders: permits and tokens hold', async () => {
    const coordinators = [0, 1].map(() => createRedisCoordinator({ url: server.url }))
    let round = 0
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.array(
            fc.record({
              workMs: fc.integer({ min: 0, max: 8 }),
              abortAfterMs: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }),
              // A holder that vanishes once granted: never renews, never releases.
              crashes: fc.boolean(),
            }),
            { minLength: 2, maxLength: 8 }
          ),
          async (permits, clients) => {
            const object = resourceName('semaphore', `mixed-${++round}`)
            let inside = 0
            let most = 0
            const tokens: number[] = []
            await Promise.all(
              clients.map(async (client, i) => {
                const coordinator = coordinators[i % 2]!
                if (client.crashes) {
                  // What lease.ts would do, minus renewals: a 30 ms lease left to expire.
                  const request = { name: object, id: `crashed-${i}`, permits, leaseMs: 30 }
                  for (;;) {
                    const reply = await coordinator
                      .get(object)
                      .acquire({ ...request, waitMs: 1_000 })
                    if (reply.granted) return void tokens.push(reply.token)
                  }
                }
                const signal =
                  client.abortAfterMs === undefined
                    ? undefined
                    : AbortSignal.timeout(client.abortAfterMs)
                const semaphore = new DistributedSemaphore(coordinator, object.slice(10), permits, {
                  pollMs: 1_000,
                })
                const lease = await semaphore.acquire({ signal }).catch(() => undefined)
                if (!lease) return
                tokens.push(lease.token)
                inside++
                most = Math.max(most, inside)
                await new Promise((resolve) => setTimeout(resolve, client.workMs))
                inside--
                await lease.release()
              })
            )
            expect(most).toBeLessThanOrEqual(permits)
            expect(new Set(tokens).size).toBe(tokens.length)
            const stub = coordinators[0]!.get(object)
            // Crashed leases run out within 30 ms; aborted waiters were taken out of line.
            const deadline = Date.now() + 2_000
            let state = await stub.inspect(object)
            while (state.holders.length > 0 && Date.now() < deadline) {
              await new Promise((resolve) => setTimeout(resolve, 5))
              state = await stub.inspect(object)
            }
            expect(state.holders).toEqual([])
            expect(state.waiters).toEqual([])
            expect(state.lastToken).toBeGreaterThanOrEqual(tokens.length)
          }
        ),
        { numRuns: 15 }
      )
    } finally {
      await Promise.all(coordinators.map((c) => c.close()))
    }
  })
})
