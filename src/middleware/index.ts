export type { BodyLimitOptions } from './body-limit/index.ts'
export {
  bodyLimit,
  bodyLimitError,
  DEFAULT_MAX_BODY_BYTES,
  PayloadTooLargeError,
} from './body-limit/index.ts'
export type { CoalesceOptions } from './coalesce/index.ts'
export { coalesce } from './coalesce/index.ts'
export type { ConcurrencyLimitOptions } from './concurrency-limit/index.ts'
export { concurrencyLimit } from './concurrency-limit/index.ts'
export type { DeadlineOptions, DeadlineVariables } from './deadline/index.ts'
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
export type {
  RequestLogOptions,
  RequestLogRecord,
  RequestLogVariables,
} from './request-log/index.ts'
export { requestLog } from './request-log/index.ts'
export type {
  AuthorizationPolicy,
  IdentityPolicy,
  SecurityOptions,
} from './security/index.ts'
export {
  bearerIdentity,
  forget,
  identity,
  MalformedCredentialsError,
  permissionTable,
  remember,
  requireAuth,
  requirePermission,
  security,
  sessionIdentity,
  tokenTable,
} from './security/index.ts'
export type {
  KVNamespaceLike,
  MemoryRevocationStoreOptions,
  MemorySessionStoreOptions,
  SessionData,
  SessionOptions,
  SessionRevocationStore,
  SessionStore,
  SessionVariables,
} from './session/index.ts'
export {
  KVRevocationStore,
  KVSessionStore,
  MemoryRevocationStore,
  MemorySessionStore,
  Session,
  SessionTooLargeError,
  session,
} from './session/index.ts'
export type { TelemetryOptions, TelemetryVariables } from './telemetry/index.ts'
export { telemetry } from './telemetry/index.ts'
