import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { HostLimiter, type Release } from '../../src/client/limiter.ts'

// Random interleavings of acquires (some with a signal), aborts and releases over a few
// hosts. After every step: no host over perHost, nothing over total; grants arrive in FIFO
// order per host. At the end, with everything released, every permit is back.

type Op =
  | { kind: 'acquire'; host: number; abortable: boolean }
  | { kind: 'release'; pick: number }
  | { kind: 'abort'; pick: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('acquire' as const),
    host: fc.integer({ min: 0, max: 2 }),
    abortable: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() })
)

const turns = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await null
}

describe('HostLimiter (property)', () => {
  it('never exceeds its caps and loses no permit under random aborts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(op, { maxLength: 60 }),
        async (total, perHost, ops) => {
          const limiter = new HostLimiter({ total, perHost, maxQueue: 1_000 })
          const held: { host: number; release: Release }[] = []
          const pending: { host: number; controller?: AbortController }[] = []
          const perHostHeld = [0, 0, 0]
          const lastGranted = [-1, -1, -1]
          let seq = 0
          const check = (): void => {
            expect(held.length).toBeLessThanOrEqual(total)
            for (const n of perHostHeld) expect(n).toBeLessThanOrEqual(perHost)
          }
          for (const o of ops) {
            if (o.kind === 'acquire') {
              const controller = o.abortable ? new AbortController() : undefined
              const entry =
                controller === undefined ? { host: o.host } : { host: o.host, controller }
              const got = limiter.acquire(`h${o.host}`, controller?.signal)
              const mine = seq++
              const grant = (release: Release): void => {
                // FIFO per host: nobody granted before an earlier, still waiting caller.
                expect(mine).toBeGreaterThan(lastGranted[o.host] ?? -1)
                lastGranted[o.host] = mine
                pending.splice(pending.indexOf(entry), 1)
                perHostHeld[o.host] = (perHostHeld[o.host] ?? 0) + 1
                held.push({ host: o.host, release })
              }
              pending.push(entry)
              if (typeof got === 'function') grant(got)
              else
                got.then(grant, () => {
                  pending.splice(pending.indexOf(entry), 1)
                })
            } else if (o.kind === 'release' && held.length > 0) {
              const [h] = held.splice(o.pick % held.length, 1)
              if (h !== undefined) {
                perHostHeld[h.host] = (perHostHeld[h.host] ?? 0) - 1
                h.release()
              }
            } else if (o.kind === 'abort') {
              const abortable = pending.filter((p) => p.controller !== undefined)
              abortable[o.pick % Math.max(1, abortable.length)]?.controller?.abort('x')
            }
            await turns()
            check()
          }
          // Drain: release until nobody waits any more.
          while (held.length > 0) {
            const h = held.shift()
            if (h === undefined) break
            perHostHeld[h.host] = (perHostHeld[h.host] ?? 0) - 1
            h.release()
            await turns()
            check()
          }
          expect(pending).toHaveLength(0)
          expect(limiter.waiting).toBe(0)
          // Every permit is back: `total` acquires on distinct hosts succeed synchronously.
          const all = Array.from({ length: total }, (_, i) =>
            limiter.acquire(`fresh${i}`, undefined)
          )
          expect(all.every((r) => typeof r === 'function')).toBe(true)
          for (let i = 0; i < 3; i++) expect(limiter.inFlight(`h${i}`)).toBe(0)
        }
      ),
      { numRuns: 200 }
    )
  })
})
