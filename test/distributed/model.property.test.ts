// Model-based property test of the coordinator's logic: random sequences of acquire (join /
// re-attach), release (or cancel), renew, clock jumps, alarms and restarts run against the
// real Coordinator and against a few lines of reference model. After every step: the same
// replies, the same holders (ids, tokens, expiries) and the same line, and the invariants —
// never more holders than permits, no waiter while a permit is free, tokens handed out in
// strictly increasing order.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Coordinator, REATTACH_GRACE_MS } from '../../src/distributed/coordinator.ts'
import { MemoryCoordinatorStorage } from '../../src/distributed/storage.ts'
import { expire, type Model, settle, stepOf } from './coordinator-model.ts'

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
                expire(m)
                if (!m.holders.some((h) => h.id === s.id)) {
                  const w = m.waiters.find((x) => x.id === s.id)
                  const expiresAt = m.now + REATTACH_GRACE_MS
                  if (w) Object.assign(w, { expiresAt, leaseMs: s.leaseMs })
                  else m.waiters.push({ id: s.id, expiresAt, leaseMs: s.leaseMs })
                }
                settle(m, permits, granted)
                const h = m.holders.find((x) => x.id === s.id)
                expect(reply).toEqual(
                  h
                    ? { granted: true, token: h.token, expiresAt: h.expiresAt }
                    : { granted: false, position: m.waiters.findIndex((w) => w.id === s.id) + 1 }
                )
                break
              }
              case 'release': {
                const reply = coordinator.release({ name, id: s.id })
                expire(m)
                let expected = 'unknown'
                if (m.holders.some((h) => h.id === s.id)) expected = 'released'
                else if (m.waiters.some((w) => w.id === s.id)) expected = 'cancelled'
                m.holders = m.holders.filter((h) => h.id !== s.id)
                m.waiters = m.waiters.filter((w) => w.id !== s.id)
                settle(m, permits, granted)
                expect(reply).toBe(expected)
                break
              }
              case 'renew': {
                const reply = coordinator.renew({ name, id: s.id, leaseMs: s.leaseMs })
                expire(m)
                const h = m.holders.find((x) => x.id === s.id)
                if (h) h.expiresAt = m.now + s.leaseMs
                settle(m, permits, granted)
                expect(reply).toEqual(h ? { held: true, expiresAt: h.expiresAt } : { held: false })
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
            expect(stored.lastToken).toBe(m.lastToken)
            expect(stored.holders).toEqual(m.holders)
            expect(stored.waiters).toEqual(m.waiters)
            expect(stored.holders.length).toBeLessThanOrEqual(permits)
            if (stored.holders.length < permits) expect(stored.waiters).toEqual([])
          }
          expect(granted).toEqual(granted.map((_, i) => i + 1))
        }
      ),
      { numRuns: 300 }
    )
  })
})
