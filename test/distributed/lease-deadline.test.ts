// The held lease's local deadline (src/distributed/lease.ts): the signal aborts when the
// grant or the last successful renewal was sent `leaseMs` ago, on this process's clock, even
// while renew calls hang (a paused Redis) and whatever the coordinator's clock says.
import { afterEach, describe, expect, it } from 'vitest'
import {
  createLocalCoordinator,
  DistributedLock,
  LeaseLostError,
  type LocalCoordinator,
} from '../../src/index.ts'
import { type Renew, withRenewControl } from './renew-control.ts'

let local: LocalCoordinator | undefined
afterEach(() => local?.close())

/** The in-process coordinator, its `renew` replaced while `control.current` is set. */
function withRenew(options: { now?: () => number } = {}) {
  local = createLocalCoordinator(options)
  return withRenewControl(local)
}

const hang: Renew = () => new Promise(() => {})

function lostAt(signal: AbortSignal): Promise<{ at: number; reason: unknown }> {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve({ at: Date.now(), reason: signal.reason }), {
      once: true,
    })
  })
}

describe('lease local deadline', () => {
  it('aborts at the local deadline while renew calls hang', async () => {
    const { binding, control } = withRenew()
    control.current = hang
    const lock = new DistributedLock(binding, 'hung', { leaseMs: 300, renewEveryMs: 100 })
    const sent = Date.now()
    const lease = await lock.acquire()
    const lost = await lostAt(lease.signal)
    expect(lost.reason).toBeInstanceOf(LeaseLostError)
    expect(lost.at - sent).toBeGreaterThanOrEqual(295)
    expect(lost.at - sent).toBeLessThan(450)
    expect(control.calls).toBeGreaterThanOrEqual(1) // a renewal was under way, and hung
    expect(lock.held).toBe(0)
  })

  it('successful renewals push the deadline forward', async () => {
    const { binding, control } = withRenew()
    const lock = new DistributedLock(binding, 'renewed', { leaseMs: 200, renewEveryMs: 60 })
    const lease = await lock.acquire()
    await new Promise((resolve) => setTimeout(resolve, 700))
    expect(lease.signal.aborted).toBe(false)
    expect(control.calls).toBeGreaterThanOrEqual(5)
    // Renewals stop answering: lost about a lease after the last one that was sent and held.
    control.current = hang
    const stalled = Date.now()
    const lost = await lostAt(lease.signal)
    expect(lost.reason).toBeInstanceOf(LeaseLostError)
    expect(lost.at - stalled).toBeLessThan(260)
    await lease.release()
  })

  it('ignores the coordinator clock: failing renewals abort at the local deadline only', async () => {
    // The coordinator's clock is 10 s behind: its `expiresAt` is already past for this
    // process, which must not end the lease early.
    const { binding, control } = withRenew({ now: () => Date.now() - 10_000 })
    control.current = () => Promise.reject(Object.assign(new Error('down'), { retryable: true }))
    const lock = new DistributedLock(binding, 'skewed', {
      leaseMs: 400,
      renewEveryMs: 100,
      retries: 0,
    })
    const sent = Date.now()
    const lease = await lock.acquire()
    expect(lease.expiresAt).toBeLessThan(Date.now())
    const lost = await lostAt(lease.signal)
    expect(lost.reason).toBeInstanceOf(LeaseLostError)
    expect(lost.at - sent).toBeGreaterThanOrEqual(395)
    expect(lost.at - sent).toBeLessThan(550)
  })
})
