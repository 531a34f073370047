export { asCompleted } from './as-completed.ts'
export { sleep } from './sleep.ts'
export { TaskGroup, TaskGroupAbort } from './task-group.ts'
export { TimeoutError, timeout } from './timeout.ts'
