export { ExecutorClosed, ExecutorQueueFull, ExecutorTaskError } from './errors.ts'
export type {
  CloseOptions,
  Executor,
  ExecutorFactory,
  ExecutorOptions,
  RunOptions,
  TransferableObject,
} from './executor.ts'
export { createInlineExecutor, type InlineExecutorOptions } from './inline.ts'
export {
  defineTasks,
  type TaskArg,
  type TaskModule,
  type TaskName,
  type TaskResult,
  type TaskSource,
} from './tasks.ts'
export { createWebWorkerExecutor } from './web-worker.ts'
