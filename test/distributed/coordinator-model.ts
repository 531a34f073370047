/**
 * The coordinator's reference model, shared by the model tests of every backend (the
 * in-process logic, test/distributed/model.property.test.ts; Redis's scripts,
 * test/distributed/redis/model.property.test.ts): the steps a history is made of, and a few
 * lines that say what the state must be after each.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { REATTACH_GRACE_MS } from '../../src/distributed/coordinator.ts'
import type { AcquireReply, ReleaseReply, RenewReply } from '../../src/distributed/protocol.ts'

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

/**
 * An `acquire` by `id` (join, or re-attach with a new lease length) applied to the model:
 * the reply the coordinator must have given. `granted` collects the tokens handed out.
 */
export function expectedAcquire(
  m: Model,
  permits: number,
  granted: number[],
  id: string,
  leaseMs: number
): AcquireReply {
  expire(m)
  if (!m.holders.some((h) => h.id === id)) {
    const w = m.waiters.find((x) => x.id === id)
    const expiresAt = m.now + REATTACH_GRACE_MS
    if (w) Object.assign(w, { expiresAt, leaseMs })
    else m.waiters.push({ id, expiresAt, leaseMs })
  }
  settle(m, permits, granted)
  const h = m.holders.find((x) => x.id === id)
  return h
    ? { granted: true, token: h.token, expiresAt: h.expiresAt }
    : { granted: false, position: m.waiters.findIndex((w) => w.id === id) + 1 }
}

/** A `release` by `id` applied to the model: the reply the coordinator must have given. */
export function expectedRelease(
  m: Model,
  permits: number,
  granted: number[],
  id: string
): ReleaseReply {
  expire(m)
  let expected: ReleaseReply = 'unknown'
  if (m.holders.some((h) => h.id === id)) expected = 'released'
  else if (m.waiters.some((w) => w.id === id)) expected = 'cancelled'
  m.holders = m.holders.filter((h) => h.id !== id)
  m.waiters = m.waiters.filter((w) => w.id !== id)
  settle(m, permits, granted)
  return expected
}

/** A `renew` by `id` applied to the model: the reply the coordinator must have given. */
export function expectedRenew(
  m: Model,
  permits: number,
  granted: number[],
  id: string,
  leaseMs: number
): RenewReply {
  expire(m)
  const h = m.holders.find((x) => x.id === id)
  if (h) h.expiresAt = m.now + leaseMs
  settle(m, permits, granted)
  return h ? { held: true, expiresAt: h.expiresAt } : { held: false }
}

/**
 * The stored state as a step left it (no further expiry applied) equals the model's, and
 * keeps the invariants: never more holders than permits, no waiter while a permit is free.
 */
export function expectStoredAsModel(
  stored: Pick<Model, 'lastToken' | 'holders' | 'waiters'>,
  m: Model,
  permits: number
): void {
  expect(stored.lastToken).toBe(m.lastToken)
  expect(stored.holders).toEqual(m.holders)
  expect(stored.waiters).toEqual(m.waiters)
  expect(stored.holders.length).toBeLessThanOrEqual(permits)
  if (stored.holders.length < permits) expect(stored.waiters).toEqual([])
}
