export * from './channels/index.ts'
export type { ClientAddressOptions } from './client-address.ts'
export { clientAddress, REMOTE_ADDRESS } from './client-address.ts'
export * from './distributed/index.ts'
export * from './executor/index.ts'
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
export type { Connection, ConnectOptions, Connector } from './net/connection.ts'
export { ConnectionRefusedError, openConnection, setConnector } from './net/connection.ts'
export type { AssetsBinding, ServeStaticOptions, StaticServer } from './static/index.ts'
export { serveAssets, serveStatic, setStaticServer } from './static/index.ts'
export * from './sync/index.ts'
export * from './tasks/index.ts'
export type { WebSocketOptions } from './websocket/index.ts'
export { closeAllWebSockets, setWebSocketUpgrader, upgradeWebSocket } from './websocket/index.ts'
