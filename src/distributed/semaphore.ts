import { type DistributedOptions, LeasedPermits } from './lease.ts'
import type { CoordinatorNamespace } from './protocol.ts'

/**
 * At most `permits` holders at once across a whole deployment, granted in FIFO order, each
 * through a renewed lease with a fencing token (see `DistributedLock`). The latest
 * `permits` a client passes for a name is the one in force.
 *
 * @example
 * ```ts
 * const upstream = new DistributedSemaphore(c.env.COORDINATOR ?? local, 'partner-api', 5)
 * const answer = await upstream.run(() => fetch(partnerUrl), { signal: c.req.raw.signal })
 * ```
 */
export class DistributedSemaphore extends LeasedPermits {
  constructor(
    binding: CoordinatorNamespace,
    name: string,
    permits: number,
    options: DistributedOptions = {}
  ) {
    super(binding, 'semaphore', name, permits, options)
  }
}
