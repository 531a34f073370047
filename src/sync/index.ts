export { Barrier, BrokenBarrierError } from './barrier.ts'
export { Condition } from './condition.ts'
export { Event } from './event.ts'
export { Lock } from './lock.ts'
export {
  type ItemStore,
  LifoQueue,
  PriorityQueue,
  type PriorityQueueOptions,
  Queue,
  QueueEmpty,
  QueueFull,
  type QueueOptions,
  QueueShutDown,
} from './queue.ts'
export { BoundedSemaphore, Semaphore } from './semaphore.ts'
export {
  configurePrimitives,
  type PrimitiveOptions,
  type PrimitivesConfig,
  StalledWaitError,
  type WaitOptions,
} from './waiter.ts'
