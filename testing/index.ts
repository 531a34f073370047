/**
 * `edgeio/testing`: run one service on Node, workerd, Deno and Bun from a vitest file and
 * hold it to the same tests on each. Runs in the test process (Node); the runtimes it
 * starts are real: an in-process Node server, wrangler's workerd, Deno and Bun subprocesses.
 */
export { type DescribeRuntimesOptions, describeRuntimes } from './describe-runtimes.ts'
export { openWebSocket, readEvents } from './http.ts'
export { type ServerProcess, type SpawnServerOptions, spawnServer, stopServer } from './process.ts'
export { startRuntime } from './start.ts'
export type {
  RuntimeServer,
  ServerSentEvent,
  TestEnv,
  TestRuntime,
  TestServiceOptions,
} from './types.ts'
