/**
 * The Cloudflare Queues backend in workerd. First the shared JobQueue contract, with the
 * plugin's `createMessageBatch` / `getQueueResult` standing in for the platform: the test
 * delivers batches to `queueHandler`, reads back which messages it acked and which it
 * retried (and with what delay), and redelivers the retried ones on a virtual clock. Then a real
 * round trip through the local queue of wrangler.toml: the example's route sends to `JOBS`,
 * miniflare delivers to the example worker's `queue()` export, and the record lands in KV.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { expect, test } from 'vitest'
import {
  CloudflareJobQueue,
  defineJobConsumer,
  type JobConsumerOptions,
  type QueueBindingLike,
  queueHandler,
} from '../../src/distributed/jobs/index.ts'
import { describeJobQueueContract } from '../distributed/jobs-contract.ts'

/** Cloudflare delivers at most this many messages per batch (wrangler.toml max_batch_size). */
const MAX_BATCH = 10

interface Stored<T> {
  id: string
  body: T
  attempts: number
  timestamp: Date
  availableAt: number
  seq: number
}

/** The simulated platform's clock (ms): it jumps to the next delivery instead of waiting. */
let clock = 0
let messageIds = 0

/** Cloudflare takes whole seconds only; the producer must have rounded. */
function checkedDelay(seconds: number | undefined): number {
  const delay = seconds ?? 0
  if (!Number.isInteger(delay)) throw new TypeError(`delaySeconds ${delay} is not whole`)
  return delay
}

describeJobQueueContract({
  name: 'cloudflare-queues',
  now: () => clock,
  delayResolution: 1,
  open<T>(options: JobConsumerOptions<T>) {
    const handler = queueHandler(defineJobConsumer(options))
    const stored: Stored<T>[] = []
    let seq = 0
    const store = (body: T, delaySeconds: number) =>
      stored.push({
        id: `m${++messageIds}`,
        body: structuredClone(body),
        attempts: 0,
        timestamp: new Date(),
        availableAt: clock + delaySeconds * 1000,
        seq: seq++,
      })
    const binding: QueueBindingLike<T> = {
      async send(body, options) {
        store(body, checkedDelay(options?.delaySeconds))
      },
      async sendBatch(messages, options) {
        for (const { body, delaySeconds } of messages) {
          store(body, checkedDelay(delaySeconds ?? options?.delaySeconds))
        }
      },
    }
    async function settle(): Promise<void> {
      while (stored.length > 0) {
        stored.sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq)
        clock = Math.max(clock, stored[0]!.availableAt)
        const due = stored.filter((m) => m.availableAt <= clock).slice(0, MAX_BATCH)
        stored.splice(0, due.length)
        for (const message of due) message.attempts++
        const batch = createMessageBatch<T>(
          'contract',
          due.map(({ id, timestamp, attempts, body }) => ({ id, timestamp, attempts, body }))
        )
        // getQueueResult (plugin 1.5.0) reports which messages were retried but not with
        // what delay: the handler sees the batch's messages through a wrapper noting it.
        const delays = new Map<string, number | undefined>()
        const observed = {
          queue: batch.queue,
          messages: batch.messages.map((message) => ({
            id: message.id,
            timestamp: message.timestamp,
            body: message.body,
            attempts: message.attempts,
            ack: () => message.ack(),
            retry(options?: { delaySeconds?: number }) {
              delays.set(message.id, options?.delaySeconds)
              message.retry(options)
            },
          })),
        }
        const ctx = createExecutionContext()
        await handler(observed, env, ctx)
        const result = await getQueueResult(batch, ctx)
        expect(result.outcome).toBe('ok')
        expect(result.ackAll).toBe(false)
        expect(result.retryBatch.retry).toBe(false)
        for (const message of due) {
          const retry = result.retryMessages.find((r) => r.msgId === message.id)
          // Each message is decided explicitly: acked, or retried, never both.
          expect(result.explicitAcks.includes(message.id)).toBe(retry === undefined)
          if (retry) {
            message.availableAt = clock + checkedDelay(delays.get(message.id)) * 1000
            message.seq = seq++
            stored.push(message)
          }
        }
      }
    }
    return { queue: new CloudflareJobQueue(binding), settle, close: async () => {} }
  },
})

test('sendBatch splits more than 100 jobs into batches Cloudflare accepts', async () => {
  const sizes: number[] = []
  const queue = new CloudflareJobQueue<number>({
    send: async () => undefined,
    sendBatch: async (messages, options) => {
      sizes.push([...messages].length)
      expect(options).toEqual({ delaySeconds: 3 })
    },
  })
  await queue.sendBatch(
    Array.from({ length: 250 }, (_, i) => i),
    { delaySeconds: 2.5 }
  )
  expect(sizes).toEqual([100, 100, 50])
})

// ---- a real round trip through the local queue ----------------------------------------

const worker = (exports as unknown as { default: Fetcher }).default
const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS

async function enqueue(body: object): Promise<string> {
  const res = await worker.fetch('http://edgeio.test/queue/jobs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(202)
  return ((await res.json()) as { id: string }).id
}

/** Polls the job's record in KV until it has `status`, for up to 15 s. */
async function record(id: string, status: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const stored = (await kv.get(`job:${id}`, 'json')) as Record<string, unknown> | null
    if (stored?.status === status) return stored
    if (Date.now() > deadline) throw new Error(`job ${id}: ${JSON.stringify(stored)}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

test('JOBS -> local queue -> queue() export: done, retried, dead-lettered, in KV', async () => {
  const [plain, flaky, doomed] = await Promise.all([
    enqueue({ n: 5 }),
    enqueue({ n: 6, fail: 2 }),
    enqueue({ n: 7, fail: 'always' }),
  ])
  expect(await record(plain, 'done')).toEqual({
    id: plain,
    status: 'done',
    attempts: 1,
    result: 25,
  })
  // At least once, counted: two failed deliveries, then the third succeeded.
  expect(await record(flaky, 'done')).toEqual({
    id: flaky,
    status: 'done',
    attempts: 3,
    result: 36,
  })
  expect(await record(doomed, 'dead-lettered')).toEqual({
    id: doomed,
    status: 'dead-lettered',
    attempts: 3,
    error: 'attempt 3 failed on purpose',
  })
  const read = await worker.fetch(`http://edgeio.test/queue/jobs/${flaky}`)
  expect(await read.json()).toMatchObject({ status: 'done', result: 36 })
}, 20_000)
