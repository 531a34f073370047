/**
 * The job queue contract on Redis (BullMQ through ioredis) under **Deno**: the suite
 * test/distributed/jobs-contract.ts, unchanged, against a real redis-server started by this
 * file. Run by `npm run test:deno`, where test/sync/deno/deno.json maps `vitest` to the shim;
 * vitest's node project excludes `*.deno.test.ts` (its Node twin is jobs.test.ts).
 */
import assert from 'node:assert'
import { afterAll, beforeAll } from 'vitest'
import { defineJobConsumer, type JobConsumerOptions } from '../../../src/distributed/jobs/index.ts'
import { RedisJobQueue } from '../../../src/distributed/redis/job-queue.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'
import { describeJobQueueContract } from '../jobs-contract.ts'

const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno
// Run under Node this file would prove nothing: refuse rather than pass.
assert.ok(deno !== undefined, 'jobs-contract.deno.test.ts runs under `deno test` only')

let redis: RedisServer | undefined
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

let names = 0

describeJobQueueContract({
  name: `redis on deno ${deno.version.deno}`,
  now: () => Date.now(),
  delayResolution: 0,
  open<T>(options: JobConsumerOptions<T>) {
    if (redis === undefined) throw new Error('redis-server was not started')
    const queue = new RedisJobQueue(defineJobConsumer(options), {
      connection: { url: redis.url },
      name: `q${++names}`,
      prefix: 'contract-deno',
    })
    queue.start()
    return { queue, settle: () => queue.idle(), close: () => queue.close() }
  },
})
