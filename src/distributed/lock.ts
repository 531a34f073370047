import { type DistributedOptions, LeasedPermits } from './lease.ts'
import type { CoordinatorNamespace } from './protocol.ts'

/**
 * A lock held across a whole deployment: every isolate, process or machine that reaches the
 * same coordinator (a Durable Object on Workers, this process elsewhere) takes turns, in
 * FIFO order. Held through a lease that the holder renews while alive; a crashed holder
 * loses it after `leaseMs`. Each acquire returns a fencing token that strictly increases.
 *
 * Costs one coordinator round trip per uncontended acquire and one per release.
 *
 * @example
 * ```ts
 * const lock = new DistributedLock(c.env.COORDINATOR ?? local, 'invoices')
 * await lock.run(async ({ token, signal }) => {
 *   const total = await load(signal)
 *   await save(total + 1, { fence: token }) // the store refuses an older token
 * })
 * ```
 */
export class DistributedLock extends LeasedPermits {
  constructor(binding: CoordinatorNamespace, name: string, options: DistributedOptions = {}) {
    super(binding, 'lock', name, 1, options)
  }
}
