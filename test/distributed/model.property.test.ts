// Model-based property test of the coordinator's logic: random sequences of acquire (join /
// re-attach), release (or cancel), renew, clock jumps, alarms and restarts run against the
// real Coordinator and against a few lines of reference model. After every step: the same
// replies, the same holders (ids, tokens, expiries) and the same line, and the invariants —
// never more holders than permits, no waiter while a permit is free, tokens handed out in
// strictly increasing order.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Coordinator } from '../../src/distributed/coordinator.ts'
import { MemoryCoordinatorStorage } from '../../src/distributed/storage.ts'
import {
  expectedAcquire,
  expectedRelease,
  expectedRenew,
  expectStoredAsModel,
  type Model,
  settle,
  stepOf,
} from './coordinator-model.ts'

const step = stepOf(fc.constantFrom('a', 'b', 'c', 'd', 'e'))

describe('Coordinator model', () => {
  it('matches the reference model on random histories', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { maxLength: 60 }),
        async (permits, steps) => {
          const m: Model = { now: 1_000_000, lastToken: 0, holders: [], waiters: [] }
          const storage = new MemoryCoordinatorStorage({ now: () => m.now, setAlarm: () => {} })
          let coordinator = new Coordinator(storage)
          const granted: number[] = []
          const name = 'r'
          for (const s of steps) {
            switch (s.kind) {
              case 'acquire': {
                const reply = await coordinator.acquire({
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
                const reply = coordinator.release({ name, id: s.id })
                expect(reply).toBe(expectedRelease(m, permits, granted, s.id))
                break
              }
              case 'renew': {
                const reply = coordinator.renew({ name, id: s.id, leaseMs: s.leaseMs })
                expect(reply).toEqual(expectedRenew(m, permits, granted, s.id, s.leaseMs))
                break
              }
              case 'advance':
                m.now += s.ms
                break
              case 'alarm':
                coordinator.alarm()
                if (storage.get('res:r') !== undefined) settle(m, permits, granted)
                break
              case 'restart':
                coordinator = new Coordinator(storage)
                break
            }
            if (s.kind === 'advance' || s.kind === 'restart') continue
            // Compare the stored state as the step left it (no further expiry applied).
            const stored = storage.get<Model>('res:r')
            if (!stored) {
              expect(m.holders).toEqual([])
              continue
            }
            expectStoredAsModel(stored, m, permits)
          }
          expect(granted).toEqual(granted.map((_, i) => i + 1))
        }
      ),
      { numRuns: 300 }
    )
  })
})
