/**
 * The adapters' plumbing: what `edgeio/node`, `edgeio/workers` and `edgeio/deno` need from
 * the core and a service author never calls. It is not a package entry (the adapters reach
 * it by relative import inside the package), so it stays out of users' completions.
 */
export { Coordinator } from './distributed/coordinator.ts'
export type {
  AcquireReply,
  AcquireRequest,
  CoordinatorRpc,
  FencedValue,
  FencedWrite,
  LeaseRef,
  PlainValue,
  ReleaseReply,
  RenewReply,
  RenewRequest,
  ResourceSnapshot,
} from './distributed/protocol.ts'
export type { CoordinatorStorage, MemoryStorageOptions } from './distributed/storage.ts'
export { MemoryCoordinatorStorage } from './distributed/storage.ts'
export { type Job, type JobRunner, PoolExecutor } from './executor/pool.ts'
export {
  deserializeError,
  type JobMessage,
  type Outcome,
  type SerializedError,
  serializeError,
  unwrapOutcome,
} from './executor/protocol.ts'
export { lazyMiddleware } from './lazy-middleware.ts'
export {
  BodyTimeout,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  guardsBody,
  withBodyTimeout,
} from './lifecycle/body-timeout.ts'
export { InFlight } from './lifecycle/in-flight.ts'
export { type QuietDrain, quietDrain, withConnectionClose } from './lifecycle/quiet-drain.ts'
export type { RejectionRuntime } from './lifecycle/rejections.ts'
export { handleUnhandledRejections } from './lifecycle/rejections.ts'
export type { ProcessControl } from './lifecycle/serve.ts'
export {
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  serverUrl,
  shutdownControl,
} from './lifecycle/serve.ts'
export { toService } from './lifecycle/service.ts'
export type { Listener, ShutdownOptions } from './lifecycle/shutdown.ts'
export { gracefulShutdown, onTermination } from './lifecycle/shutdown.ts'
export { WaitUntilTracker } from './lifecycle/wait-until.ts'
export type { Connector } from './net/connection.ts'
export type { Runtime, WebSocketSupport } from './runtime/runtime.ts'
export { SERVER_SCOPE, ServerScope } from './runtime/server-scope.ts'
export type { StaticServer } from './static/index.ts'
