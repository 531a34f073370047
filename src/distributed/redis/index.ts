/**
 * `edgeio/redis`: the distributed pieces on Redis (or Valkey) for Node, Deno and Bun
 * fleets, as Workers run them on Durable Objects and Queues. The one entry that loads a
 * Redis client (ioredis, and BullMQ for the job queue): both are optional peers.
 */
export {
  createRedisCoordinator,
  type RedisCoordinator,
  type RedisCoordinatorOptions,
  type RedisCoordinatorTuning,
} from './coordinator.ts'
export { RedisUnavailableError } from './errors.ts'
export {
  DeliveryLostError,
  RedisJobQueue,
  type RedisJobQueueConnection,
  type RedisJobQueueOptions,
} from './job-queue.ts'
export { RedisKV, type RedisKVOptions } from './kv.ts'
export { consumeQuota, type RedisScriptClient } from './quota.ts'
