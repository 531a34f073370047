export * from './channels/index.ts'
export * from './client/index.ts'
export type { ClientAddressOptions } from './client-address.ts'
export { clientAddress } from './client-address.ts'
export * from './distributed/index.ts'
export * from './executor/index.ts'
export {
  BodyTimeoutError,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
} from './lifecycle/body-timeout.ts'
export { errorHandler, notFoundHandler } from './lifecycle/errors.ts'
export type { UnhandledRejectionMode } from './lifecycle/rejections.ts'
export type { ServeOptions, ServerHandle } from './lifecycle/serve.ts'
export { DEFAULT_PORT, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './lifecycle/serve.ts'
export type {
  CleanupContext,
  FetchHandler,
  Hook,
  Servable,
  ServiceOptions,
  ServiceState,
} from './lifecycle/service.ts'
export { Service } from './lifecycle/service.ts'
export type { WaitUntilErrorHandler, WaitUntilTracker } from './lifecycle/wait-until.ts'
export * from './middleware/index.ts'
export type { Connection, ConnectOptions } from './net/connection.ts'
export { ConnectionRefusedError, openConnection } from './net/connection.ts'
export type { Runtime, WebSocketSupport } from './runtime/index.ts'
export type { AssetsBinding, ServeStaticOptions } from './static/index.ts'
export { serveAssets, serveStatic } from './static/index.ts'
export type { SSEMessage, SSEStreamingApi, StreamingApi } from './streaming/index.ts'
export { stream, streamSSE, streamText } from './streaming/index.ts'
export * from './sync/index.ts'
export * from './tasks/index.ts'
export * from './telemetry/index.ts'
export type { WebSocketOptions } from './websocket/index.ts'
export { upgradeWebSocket } from './websocket/index.ts'
