/**
 * One of the 4 contending processes of bench/redis/lock.ts: waits at the gate (a BLPOP, so
 * that every process starts together), then for `durationMs` loops acquire → read-modify-
 * write of a counter (GET, SET one more) → release on one lock, edgeio's `DistributedLock` or
 * redis-semaphore's `Mutex`, each on its library's defaults but the lease. Prints one JSON
 * line: the counter values it read, which order every process's turns into one sequence.
 *
 *   node bench/redis/lock-worker.ts <redis url> '<task json>'
 */
import { Redis } from 'ioredis'
import { Mutex } from 'redis-semaphore'
import { DistributedLock } from '../../src/distributed/lock.ts'
import { createRedisCoordinator } from '../../src/distributed/redis/coordinator.ts'

export interface LockWorkerTask {
  library: 'edgeio' | 'redis-semaphore'
  /** The lock's name, and the counter's key prefix. */
  name: string
  /** The list the bench pushes to once every process is connected. */
  gate: string
  durationMs: number
  /** Lease (edgeio `leaseMs`, redis-semaphore `lockTimeout`) for both. */
  leaseMs: number
}

/** The worker's one line: `reads[i]` is the counter's value at this process's i-th turn. */
export interface LockWorkerReport {
  reads: number[]
}

async function main(url: string, task: LockWorkerTask): Promise<LockWorkerReport> {
  const redis = new Redis(url)
  const coordinator = createRedisCoordinator({ url })
  const lockClient = new Redis(url)
  const counter = `${task.name}:counter`
  try {
    await Promise.all([redis.ping(), lockClient.ping()])
    console.log(JSON.stringify({ ready: true }))
    if ((await redis.blpop(task.gate, 20)) === null) throw new Error('the gate never opened')
    const increment = async () => {
      const read = Number((await redis.get(counter)) ?? 0)
      await redis.set(counter, String(read + 1))
      return read
    }
    const turn =
      task.library === 'edgeio'
        ? () =>
            new DistributedLock(coordinator, task.name, { leaseMs: task.leaseMs }).run(increment)
        : async () => {
            const mutex = new Mutex(lockClient, task.name, { lockTimeout: task.leaseMs })
            await mutex.acquire()
            try {
              return await increment()
            } finally {
              await mutex.release()
            }
          }
    const reads: number[] = []
    const end = performance.now() + task.durationMs
    while (performance.now() < end) reads.push(await turn())
    return { reads }
  } finally {
    await coordinator.close()
    redis.disconnect()
    lockClient.disconnect()
  }
}

if (import.meta.main) {
  const [url, json] = process.argv.slice(2)
  if (!url || !json) throw new Error("usage: lock-worker.ts <redis url> '<task json>'")
  console.log(JSON.stringify(await main(url, JSON.parse(json) as LockWorkerTask)))
  process.exit(0)
}
