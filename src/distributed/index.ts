/**
 * Coordination beyond one isolate or process: the same shapes as `src/sync`, backed by a
 * Durable Object (Workers) or by this process (Node, Deno), and a job queue backed by
 * Cloudflare Queues or by this process.
 */

export {
  CoordinatorResetError,
  CoordinatorUnavailableError,
  LeaseLostError,
  NotHeldError,
} from './errors.ts'
export * from './jobs/index.ts'
export type { DistributedLease, DistributedOptions } from './lease.ts'
export type { LocalCoordinator, LocalCoordinatorOptions } from './local.ts'
export { createLocalCoordinator } from './local.ts'
export { DistributedLock } from './lock.ts'
export type { CoordinatorNamespace, CoordinatorStub } from './protocol.ts'
export type { DistributedRateLimitStoreOptions } from './rate-limit-store.ts'
export { DistributedRateLimitStore } from './rate-limit-store.ts'
export { DistributedSemaphore } from './semaphore.ts'
