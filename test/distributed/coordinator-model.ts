/**
 * The coordinator's reference model, shared by the model tests of every backend (the
 * in-process logic, test/distributed/model.property.test.ts; Redis's scripts,
 * test/distributed/redis/model.property.test.ts): the steps a history is made of, and a few
 * lines that say what the state must be after each.
 */
import fc from 'fast-check'

export type Step =
  | { kind: 'acquire'; id: string; leaseMs: number }
  | { kind: 'release'; id: string }
  | { kind: 'renew'; id: string; leaseMs: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'alarm' }
  | { kind: 'restart' }

export interface Model {
  now: number
  lastToken: number
  holders: { id: string; token: number; expiresAt: number }[]
  waiters: { id: string; expiresAt: number; leaseMs: number }[]
}

const lease = fc.constantFrom(100, 1_000, 4_000)

/** One step of a history, its waiter ids drawn from `ids`. */
export function stepOf(ids: fc.Arbitrary<string>): fc.Arbitrary<Step> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('acquire'), id: ids, leaseMs: lease }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('release'), id: ids }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('renew'), id: ids, leaseMs: lease }) },
    {
      weight: 2,
      // Exact lease lengths too, so that expiries land on the boundary.
      arbitrary: fc.record({
        kind: fc.constant('advance'),
        ms: fc.oneof(
          fc.constantFrom(100, 900, 1_000, 4_000, 5_000),
          fc.integer({ min: 0, max: 3_000 })
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'alarm' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) }
  )
}

/** The reference: expire, apply, grant from the head of the line. */
export function expire(m: Model): void {
  m.holders = m.holders.filter((h) => h.expiresAt > m.now)
  m.waiters = m.waiters.filter((w) => w.expiresAt > m.now)
}

export function settle(m: Model, permits: number, granted: number[]): void {
  expire(m)
  while (m.holders.length < permits && m.waiters.length > 0) {
    const w = m.waiters.shift()!
    m.lastToken++
    granted.push(m.lastToken)
    m.holders.push({ id: w.id, token: m.lastToken, expiresAt: m.now + w.leaseMs })
  }
}
