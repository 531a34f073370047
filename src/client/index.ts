export type { CleanupRegistry } from './client.ts'
export { BoundClient, Client, createClient, HttpCalls } from './client.ts'
export {
  CircuitOpenError,
  ClientClosedError,
  ClientError,
  ClientQueueFullError,
  ClientResponseError,
  ClientTimeoutError,
} from './errors.ts'
export type {
  CallInit,
  CallScope,
  CircuitOptions,
  CircuitSnapshot,
  ClientCloseOptions,
  ClientLimitOptions,
  ClientOptions,
  ClientRetryOptions,
  ClientTimeoutOptions,
  FetchFunction,
} from './types.ts'
