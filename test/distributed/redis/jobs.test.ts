/**
 * The job queue on Redis (BullMQ), against a real redis-server: the shared contract, then
 * what only it has: connections it owns or borrows, JSON-only jobs, a drain on graceful
 * shutdown, and jobs that outlive the process that held them (a worker killed with SIGKILL).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import {
  defineJobConsumer,
  type JobConsumerOptions,
  type JobInfo,
  JobQueueClosed,
} from '../../../src/distributed/jobs/index.ts'
import {
  DeliveryLostError,
  RedisJobQueue,
  type RedisJobQueueOptions,
} from '../../../src/distributed/redis/job-queue.ts'
import { Event } from '../../../src/sync/event.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'
import { describeJobQueueContract } from '../jobs-contract.ts'
import { LOCK_DURATION, STALLED_INTERVAL, type WorkerEvent, type WorkerJob } from './job-worker.ts'

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

/** A queue name no other test uses: queues of one file share the server. */
let names = 0
const freshName = () => `q${++names}`

/** BullMQ's view of a queue's jobs, read with a connection of the test's own. */
async function counts(name: string, prefix = 'edgeio:jobs') {
  const client = new Redis(redis.url)
  try {
    const states = ['wait', 'active', 'delayed', 'completed', 'failed'] as const
    const sizes = await Promise.all([
      client.llen(`${prefix}:${name}:wait`),
      client.llen(`${prefix}:${name}:active`),
      client.zcard(`${prefix}:${name}:delayed`),
      client.zcard(`${prefix}:${name}:completed`),
      client.zcard(`${prefix}:${name}:failed`),
    ])
    return Object.fromEntries(states.map((state, i) => [state, sizes[i]]))
  } finally {
    client.disconnect()
  }
}

describeJobQueueContract({
  name: 'redis',
  // BullMQ times delays with Date.now() (on the sending and the working side alike).
  now: () => Date.now(),
  delayResolution: 0,
  open<T>(options: JobConsumerOptions<T>) {
    const queue = new RedisJobQueue(defineJobConsumer(options), {
      connection: { url: redis.url },
      name: freshName(),
      prefix: 'contract',
    })
    queue.start()
    return { queue, settle: () => queue.idle(), close: () => queue.close() }
  },
  lifetime: {
    create: <T>(options: JobConsumerOptions<T>) =>
      new RedisJobQueue(defineJobConsumer(options), {
        connection: { url: redis.url },
        name: freshName(),
        prefix: 'contract',
      }),
    async drained(queue) {
      // The drained job was acknowledged in Redis before the connections closed.
      expect(await counts(queue.name, 'contract')).toMatchObject({
        wait: 0,
        active: 0,
        delayed: 0,
        failed: 0,
      })
    },
  },
})

describe('RedisJobQueue', () => {
  const queues: RedisJobQueue<unknown, unknown>[] = []
  function make<T, E = undefined>(
    options: JobConsumerOptions<T, E>,
    queueOptions: Partial<RedisJobQueueOptions<E>> = {}
  ) {
    const queue = new RedisJobQueue(defineJobConsumer(options), {
      connection: { url: redis.url },
      name: freshName(),
      ...queueOptions,
    })
    queues.push(queue as RedisJobQueue<unknown, unknown>)
    return queue
  }
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()))
  })

  test('jobs sent before start() wait in Redis; handlers get a copy, env, name and times', async () => {
    const seen: { job: unknown; info: JobInfo<{ region: string }> }[] = []
    const job = { list: [1, 'two', null, { deep: true }], n: 0.5 }
    const queue = make<typeof job, { region: string }>(
      { handle: (j, info) => void seen.push({ job: j, info }) },
      { env: { region: 'here' } }
    )
    const before = Date.now()
    await queue.send(job)
    job.list.push(2) // after the send: the stored copy does not see it
    expect(await counts(queue.name)).toMatchObject({ wait: 1, active: 0 })
    expect(seen).toEqual([])
    queue.start()
    await queue.idle()
    expect(seen).toHaveLength(1)
    const [{ job: got, info }] = seen as [(typeof seen)[number]]
    expect(got).toEqual({ list: [1, 'two', null, { deep: true }], n: 0.5 })
    expect(info).toMatchObject({ attempt: 1, queue: queue.name, env: { region: 'here' } })
    expect(info.enqueuedAt.getTime()).toBeGreaterThanOrEqual(before)
    expect(info.enqueuedAt.getTime()).toBeLessThanOrEqual(Date.now())
    // Acknowledged means dropped: nothing is kept, not even in the completed set.
    expect(await counts(queue.name)).toEqual({
      wait: 0,
      active: 0,
      delayed: 0,
      completed: 0,
      failed: 0,
    })
  })

  test('a job JSON would not carry unchanged is refused at send, and nothing is stored', async () => {
    const queue = make<unknown>({ handle() {} })
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    const refused = [
      () => {},
      { when: new Date() },
      { tags: new Set(['a']) },
      { n: 1n },
      [1, undefined],
      { ratio: Number.NaN },
      undefined,
      Symbol('s'),
      cyclic,
    ]
    for (const job of refused) {
      await expect(queue.send(job)).rejects.toThrow(TypeError)
    }
    // A batch is refused whole when one of its jobs is.
    await expect(queue.sendBatch([{ ok: 1 }, { when: new Date() }])).rejects.toThrow(
      /jobs are stored as JSON, and "when" is a Date/
    )
    expect(await counts(queue.name)).toMatchObject({ wait: 0, delayed: 0 })
  })

  test('{ client }: the caller keeps ioredis defaults and its client; the queue closes its own', async () => {
    const admin = new Redis(redis.url)
    const client = new Redis(redis.url) // maxRetriesPerRequest: 20, which BullMQ refuses for workers
    try {
      const connections = async () =>
        String(await admin.client('LIST'))
          .trim()
          .split('\n').length
      await client.ping()
      const baseline = await connections()
      const done = new Event()
      const queue = make<string>({ handle: () => done.set() }, { connection: { client } })
      queue.start()
      await queue.send('through the caller’s client')
      await done.wait()
      await queue.idle()
      // The worker's duplicate and BullMQ's blocking connection.
      expect(await connections()).toBe(baseline + 2)
      await queue.close()
      expect(await connections()).toBe(baseline)
      expect(await client.ping()).toBe('PONG')
      expect(client.options.maxRetriesPerRequest).toBe(20)
    } finally {
      client.disconnect()
      admin.disconnect()
    }
  })

  test('past drainTimeout the job is aborted through info.signal, and runs again elsewhere', async () => {
    const started = new Event()
    let reason: unknown
    const name = freshName()
    const options: JobConsumerOptions<string> = {
      backoff: () => 0,
      handle: (_job, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          started.set()
          signal.addEventListener('abort', () => {
            reason = signal.reason
            reject(signal.reason)
          })
        }),
    }
    const first = make(options, { name, drainTimeout: 20 })
    first.start()
    await first.send('stuck')
    await started.wait()
    await first.close()
    expect(reason).toBeInstanceOf(JobQueueClosed)
    // The aborted delivery failed, so the job went back to Redis for a retry.
    expect(await counts(name)).toMatchObject({ wait: 1, active: 0 })
    const attempts: number[] = []
    const second = make<string>(
      { handle: (_job, info) => void attempts.push(info.attempt) },
      { name }
    )
    second.start()
    await second.idle()
    expect(attempts).toEqual([2])
  })

  test('a handler that ignores the abort does not hold close() up; its job comes back', async () => {
    const started = new Event()
    const name = freshName()
    const locks = { lockDuration: 500, stalledInterval: 250 }
    const first = make<string>(
      {
        handle: (_job, { attempt }) => {
          started.set()
          if (attempt === 1) return new Promise<void>(() => {}) // deaf to info.signal
        },
      },
      { name, drainTimeout: 20, ...locks }
    )
    first.start()
    await first.send('deaf')
    await started.wait()
    const warn = console.warn
    console.warn = () => {}
    try {
      await first.close() // drain time, then the 1 s grace, then the worker is cut off
    } finally {
      console.warn = warn
    }
    const attempts: number[] = []
    const second = make<string>(
      { handle: (_job, info) => void attempts.push(info.attempt) },
      { name, ...locks }
    )
    second.start()
    await second.idle()
    expect(attempts).toEqual([2])
  })

  describe('across processes', () => {
    const children = new Set<ChildProcess>()
    afterEach(() => {
      for (const child of children) child.kill('SIGKILL')
      children.clear()
    })

    /** A worker process, and the events it reported so far. */
    function spawnWorker(queue: string, maxRetries: number) {
      const child = spawn(
        'node_modules/.bin/node',
        ['test/distributed/redis/job-worker.ts', redis.url, queue, String(maxRetries)],
        { stdio: ['ignore', 'pipe', 'inherit'] }
      )
      children.add(child)
      const events: WorkerEvent[] = []
      const waiters = new Set<() => void>()
      createInterface({ input: child.stdout! }).on('line', (line) => {
        events.push(JSON.parse(line) as WorkerEvent)
        for (const wake of waiters) wake()
      })
      /** Resolves once `count` events match `match`. */
      function until(count: number, match: (e: WorkerEvent) => boolean): Promise<WorkerEvent[]> {
        return new Promise((resolve, reject) => {
          const check = () => {
            const found = events.filter(match)
            if (found.length >= count) {
              waiters.delete(check)
              child.off('exit', exited)
              resolve(found)
            }
          }
          const exited = () => reject(new Error(`worker ${child.pid} exited early`))
          child.once('exit', exited)
          waiters.add(check)
          check()
        })
      }
      return { child, events, until }
    }

    /** A producer-only queue (never started) with the workers' definition. */
    function producer(name: string, maxRetries: number) {
      return make<WorkerJob>({ handle() {}, maxRetries }, { name, prefix: 'crash' })
    }

    test('a worker killed mid-job: another process runs its jobs again, none lost', async () => {
      const name = freshName()
      const jobs = producer(name, 3)
      await jobs.sendBatch(['a', 'b', 'c'].map((job) => ({ name: job, hold: true })))
      const a = spawnWorker(name, 3)
      const held = await a.until(3, (e) => e.event === 'start')
      const b = spawnWorker(name, 3)
      const killedAt = Date.now()
      a.child.kill('SIGKILL')
      await once(a.child, 'exit')
      const done = await b.until(3, (e) => e.event === 'done')
      const recovery = Date.now() - killedAt
      // Each job once more, in the other process, as delivery 2 of the same message id.
      expect(done.map((e) => [e.job, e.attempt]).sort()).toEqual([
        ['a', 2],
        ['b', 2],
        ['c', 2],
      ])
      expect(done.every((e) => e.pid === b.child.pid)).toBe(true)
      const idOf = (events: WorkerEvent[], job: string) => events.find((e) => e.job === job)?.id
      for (const job of ['a', 'b', 'c']) expect(idOf(done, job)).toBe(idOf(held, job))
      // The locks lapse within LOCK_DURATION, found by a check every STALLED_INTERVAL.
      expect(recovery).toBeLessThan(LOCK_DURATION + 2 * STALLED_INTERVAL + 1_000)
      await jobs.idle()
      expect(await counts(name, 'crash')).toMatchObject({ wait: 0, active: 0, failed: 0 })
      expect(b.events.filter((e) => e.event === 'done')).toHaveLength(3)
      // The survivor shuts down gracefully.
      b.child.kill('SIGTERM')
      const [code] = await once(b.child, 'exit')
      expect(code).toBe(0)
    })

    test('a job whose last allowed delivery died is dead-lettered by the next worker', async () => {
      const name = freshName()
      const jobs = producer(name, 0)
      await jobs.send({ name: 'poison', hold: true })
      const a = spawnWorker(name, 0)
      await a.until(1, (e) => e.event === 'start')
      const b = spawnWorker(name, 0)
      a.child.kill('SIGKILL')
      await once(a.child, 'exit')
      const [dead] = await b.until(1, (e) => e.event === 'dead')
      expect(dead).toMatchObject({ job: 'poison', attempt: 2, error: DeliveryLostError.name })
      // maxRetries 0: one delivery only, so the handler did not run again.
      expect(b.events.filter((e) => e.event === 'start')).toEqual([])
      await jobs.idle()
      expect(await counts(name, 'crash')).toMatchObject({ wait: 0, active: 0, failed: 0 })
    })
  })
})
