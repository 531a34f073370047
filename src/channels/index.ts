export type { OverflowPolicy, SubscribeOptions } from './broadcast.ts'
export { Broadcast, SlowSubscriberError, Subscription } from './broadcast.ts'
