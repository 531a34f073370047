/**
 * The bindings an entry point serves the example with: `undefined` (the runtime's own
 * environment) for one process alone, or, with `REDIS_URL` set, that environment plus the
 * fleet's bindings on Redis. examples/redis-bindings.ts, and with it ioredis and BullMQ, is
 * loaded only then.
 */
import type { Env } from 'hono'
import type { Service } from '../src/index.ts'

export async function fleetEnv<E extends Env>(
  service: Service<E>,
  vars: Record<string, string | undefined>
): Promise<object | undefined> {
  const url = vars.REDIS_URL
  if (!url) return undefined
  const { redisBindings } = await import('./redis-bindings.ts')
  return { ...vars, ...redisBindings(service, url) }
}
