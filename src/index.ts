export type { ClientAddressOptions } from './client-address.ts'
export { clientAddress, REMOTE_ADDRESS } from './client-address.ts'
export { errorHandler, notFoundHandler } from './lifecycle/errors.ts'
export { InFlight } from './lifecycle/in-flight.ts'
export type { ProcessControl, ServeOptions, ServerHandle } from './lifecycle/serve.ts'
export {
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  serverUrl,
  shutdownControl,
} from './lifecycle/serve.ts'
export type {
  CleanupContext,
  FetchHandler,
  Hook,
  Servable,
  ServiceState,
} from './lifecycle/service.ts'
export { Service, toService } from './lifecycle/service.ts'
export type { Listener, ShutdownOptions } from './lifecycle/shutdown.ts'
export { gracefulShutdown, onTermination } from './lifecycle/shutdown.ts'
export type { WaitUntilErrorHandler } from './lifecycle/wait-until.ts'
export { WaitUntilTracker } from './lifecycle/wait-until.ts'
export * from './middleware/index.ts'
