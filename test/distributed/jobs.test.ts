/**
 * The in-process job queue: the shared contract, then what only it has (a lifecycle: start,
 * drain on close, the jobs it hands back; the Service integration is in the contract).
 */
import { afterEach, describe, expect, test } from 'vitest'
import {
  defineJobConsumer,
  exponentialBackoff,
  type JobConsumerOptions,
  JobQueueClosed,
  MemoryJobQueue,
} from '../../src/distributed/jobs/index.ts'
import { Event } from '../../src/sync/event.ts'
import { describeJobQueueContract } from './jobs-contract.ts'

describeJobQueueContract({
  name: 'in-process',
  now: () => performance.now(),
  delayResolution: 0,
  open<T>(options: JobConsumerOptions<T>) {
    const queue = new MemoryJobQueue(defineJobConsumer(options), { name: 'contract' })
    queue.start()
    return {
      queue,
      settle: () => queue.idle(),
      close: async () => {
        await queue.close()
      },
    }
  },
  lifetime: {
    create: <T>(options: JobConsumerOptions<T>) =>
      new MemoryJobQueue(defineJobConsumer(options), { name: 'contract' }),
  },
})

describe('MemoryJobQueue', () => {
  const queues: MemoryJobQueue<unknown, unknown>[] = []
  function make<T, E = undefined>(
    options: JobConsumerOptions<T, E>,
    queueOptions: ConstructorParameters<typeof MemoryJobQueue<T, E>>[1] = {}
  ) {
    const queue = new MemoryJobQueue(defineJobConsumer(options), queueOptions)
    queues.push(queue as MemoryJobQueue<unknown, unknown>)
    return queue
  }
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close()))
  })

  test('jobs sent before start() wait for it; none runs inside send()', async () => {
    const seen: string[] = []
    const queue = make<string>({ handle: (job) => void seen.push(job) })
    await queue.send('early')
    await Promise.resolve()
    expect(seen).toEqual([])
    expect(queue.size).toBe(1)
    queue.start()
    const sent = queue.send('late')
    expect(seen).toEqual(['early']) // start() ran the waiting job; 'late' is not started yet
    await sent
    await queue.idle()
    expect(seen).toEqual(['early', 'late'])
  })

  test('the handler gets a copy of the job, and env and name from the options', async () => {
    const job = { list: [1] }
    let got: { list: number[] } | undefined
    let info: { env: { region: string }; queue: string } | undefined
    const queue = make<typeof job, { region: string }>(
      {
        handle(j, i) {
          got = j
          info = i
        },
      },
      { env: { region: 'here' }, name: 'mail' }
    )
    queue.start()
    await queue.send(job)
    job.list.push(2) // after the send: the queued copy does not see it
    await queue.idle()
    expect(got).toEqual({ list: [1] })
    expect(got).not.toBe(job)
    expect(info).toMatchObject({ env: { region: 'here' }, queue: 'mail' })
  })

  test('a job that cannot be cloned is refused at send, as a real queue would', async () => {
    const queue = make<() => void>({ handle() {} })
    await expect(queue.send(() => {})).rejects.toThrow()
    expect(queue.size).toBe(0)
  })

  test('a retry goes behind jobs that were ready before it (FIFO by ready time)', async () => {
    const order: string[] = []
    const gate = new Event()
    const queue = make<string>({
      backoff: () => 0,
      async handle(job, { attempt }) {
        order.push(`${job}${attempt}`)
        if (job === 'a' && attempt === 1) {
          await gate.wait()
          throw new Error('retry me')
        }
      },
    })
    queue.start()
    await queue.send('a')
    await queue.sendBatch(['b', 'c'])
    await Promise.resolve()
    gate.set()
    await queue.idle()
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2'])
  })

  test('close() stops sends, lets running jobs finish and hands back the rest', async () => {
    const started = new Event()
    const finish = new Event()
    const done: string[] = []
    const queue = make<string>({
      async handle(job) {
        started.set()
        await finish.wait()
        done.push(job)
      },
    })
    queue.start()
    await queue.send('running')
    await queue.send('waiting')
    await queue.send('delayed', { delaySeconds: 60 })
    await started.wait()
    const closing = queue.close()
    await expect(queue.send('refused')).rejects.toBeInstanceOf(JobQueueClosed)
    expect(done).toEqual([])
    finish.set()
    const left = await closing
    expect(done).toEqual(['running'])
    expect(left.map(({ job, attempts }) => ({ job, attempts }))).toEqual([
      { job: 'waiting', attempts: 0 },
      { job: 'delayed', attempts: 0 },
    ])
    expect(await queue.close()).toBe(left) // idempotent
    await queue.idle()
  })

  test('a job failing during the drain is handed back with its attempts, not retried', async () => {
    const started = new Event()
    const fail = new Event()
    const queue = make<string>({
      backoff: () => 0,
      async handle(_job, { attempt }) {
        started.set()
        await fail.wait()
        throw new Error(`attempt ${attempt}`)
      },
    })
    queue.start()
    await queue.send('flaky')
    await started.wait()
    const closing = queue.close()
    fail.set()
    expect((await closing).map((j) => [j.job, j.attempts])).toEqual([['flaky', 1]])
  })

  test('past drainTimeout the running job is aborted through info.signal', async () => {
    let reason: unknown
    const queue = make<string>(
      {
        handle: (_job, { signal }) =>
          new Promise<void>((resolve) => {
            signal.addEventListener('abort', () => {
              reason = signal.reason
              resolve()
            })
          }),
      },
      { drainTimeout: 20 }
    )
    queue.start()
    await queue.send('stuck')
    await Promise.resolve()
    await queue.close()
    expect(reason).toBeInstanceOf(JobQueueClosed)
  })

  test('a throwing backoff or onDeadLetter does not wedge the queue', async () => {
    let deliveries = 0
    const queue = make<string>({
      maxRetries: 1,
      backoff: () => {
        throw new Error('bad backoff')
      },
      handle() {
        deliveries++
        throw new Error('always')
      },
      onDeadLetter() {
        throw new Error('bad dead letter')
      },
    })
    const errors = console.error
    console.error = () => {}
    try {
      queue.start()
      await queue.send('x')
      await queue.idle()
    } finally {
      console.error = errors
    }
    expect(deliveries).toBe(2)
  })

  test('defineJobConsumer checks its numbers and fills in defaults', () => {
    expect(() => defineJobConsumer({ handle() {}, maxRetries: -1 })).toThrow(RangeError)
    expect(() => defineJobConsumer({ handle() {}, concurrency: 0 })).toThrow(RangeError)
    const consumer = defineJobConsumer({ handle() {} })
    expect(consumer).toMatchObject({ maxRetries: 3, concurrency: 1 })
    expect([1, 2, 3, 4, 8].map(consumer.backoff)).toEqual([1, 2, 4, 8, 60])
    expect(exponentialBackoff({ baseSeconds: 0.5, maxSeconds: 3 })(4)).toBe(3)
  })
})
