/**
 * The example as a fleet: with `REDIS_URL` set, the Node, Deno and Bun entries give the
 * service bindings on Redis under the names Workers gives it (`COORDINATOR`, `SESSIONS`)
 * plus `JOB_QUEUE`, so that every process of the fleet shares the locks, rate limits, job
 * queue and sessions, and no handler changes. Without it, each process is alone (the
 * in-process coordinator and queue, sessions sealed in the cookie).
 */
import type { Env } from 'hono'
import { Redis } from 'ioredis'
import {
  createRedisCoordinator,
  type RedisCoordinator,
  RedisJobQueue,
  RedisKV,
} from '../src/distributed/redis/index.ts'
import type { Service } from '../src/index.ts'
import { type SquareJob, squareConsumer } from './queue-routes.ts'

export interface RedisBindings {
  COORDINATOR: RedisCoordinator
  SESSIONS: RedisKV
  JOB_QUEUE: RedisJobQueue<SquareJob, { SESSIONS: RedisKV }>
}

/**
 * Connects the bindings to Redis at `url` and ties them to `service`: the queue's consumer
 * starts with it and drains at graceful shutdown, then the connections close.
 */
export function redisBindings<E extends Env>(service: Service<E>, url: string): RedisBindings {
  const client = new Redis(url)
  const COORDINATOR = createRedisCoordinator({ client })
  const SESSIONS = new RedisKV(client, { prefix: 'edgeio-example:' })
  const JOB_QUEUE = new RedisJobQueue(squareConsumer, {
    connection: { url },
    name: 'edgeio-jobs',
    env: { SESSIONS },
  })
  // Cleanup runs in reverse: the queue drains first, then the connections close.
  service.onCleanup(async () => {
    await COORDINATOR.close()
    await client.quit()
  })
  service.cleanupCtx(() => JOB_QUEUE.lifetime())
  return { COORDINATOR, SESSIONS, JOB_QUEUE }
}
