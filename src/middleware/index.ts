export type { DeadlineOptions } from './deadline/index.ts'
export { deadline } from './deadline/index.ts'
export type {
  MemoryStoreOptions,
  RateLimitOptions,
  RateLimitResult,
  RateLimitRule,
  RateLimitStore,
  SlidingWindowOptions,
  TokenBucketOptions,
} from './rate-limit/index.ts'
export { MemoryStore, rateLimit } from './rate-limit/index.ts'
