export type {
  MessageBatchLike,
  MessageLike,
  QueueBindingLike,
  QueueHandler,
} from './cloudflare.ts'
export { CloudflareJobQueue, queueHandler } from './cloudflare.ts'
export { defineJobConsumer, exponentialBackoff, MAX_DELAY_SECONDS } from './consumer.ts'
export { JobQueueClosed } from './errors.ts'
export type { AbandonedJob, MemoryJobQueueOptions } from './memory.ts'
export { MemoryJobQueue } from './memory.ts'
export type {
  Backoff,
  JobConsumer,
  JobConsumerOptions,
  JobInfo,
  JobOutcome,
  JobQueue,
  SendOptions,
} from './types.ts'
