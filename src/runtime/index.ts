export type { Runtime, WebSocketSupport } from './runtime.ts'
export { findServerScope, SERVER_SCOPE, ServerScope, serverScope } from './server-scope.ts'
