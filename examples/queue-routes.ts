/**
 * A job queue, the same routes on every runtime: Cloudflare Queues on Workers (the `JOBS`
 * producer binding, consumed by examples/workers/index.ts), the in-process MemoryJobQueue
 * on Node and Deno, or a RedisJobQueue shared by a fleet (`JOB_QUEUE`, with `REDIS_URL`).
 * A job squares a number; it can be told to fail its first attempts (to show retries with
 * backoff) or every attempt (to show the dead letter). The consumer writes each job's record
 * where `GET /queue/jobs/:id` reads it: KV (`SESSIONS`, under `job:`: Workers KV, or Redis
 * for a fleet), else this process's memory.
 */
import type { Env } from 'hono'
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { validator } from 'hono/validator'
import {
  CloudflareJobQueue,
  defineJobConsumer,
  exponentialBackoff,
  type JobQueue,
  type KVNamespaceLike,
  MemoryJobQueue,
  type QueueBindingLike,
  type Service,
} from '../src/index.ts'

/** One job: square `n`, after failing `fail` attempts (or all of them). */
export interface SquareJob {
  id: string
  n: number
  fail: number | 'always'
}

/** What `GET /queue/jobs/:id` answers. */
export interface JobRecord {
  id: string
  status: 'queued' | 'running' | 'done' | 'dead-lettered'
  /** Deliveries so far. */
  attempts: number
  result?: number
  error?: string
}

/** The bindings these routes read; on Node and Deno, only a fleet on Redis has them. */
export interface QueueBindings {
  /** The Cloudflare Queue producer (wrangler.toml `[[queues.producers]]`). */
  JOBS?: QueueBindingLike<SquareJob>
  /** A queue shared by a fleet (examples/redis-bindings.ts: on Redis, with `REDIS_URL`). */
  JOB_QUEUE?: JobQueue<SquareJob>
  /** Workers KV, shared with sessions; job records live under `job:`. */
  SESSIONS?: KVNamespaceLike
}

/** At most this many records are kept in memory (oldest dropped); KV expires them instead. */
const MEMORY_RECORDS = 1_000
const KV_TTL_SECONDS = 3_600
const memoryRecords = new Map<string, JobRecord>()

/** Where job records live: KV when the bindings have it, else this process's memory. */
function records(env: QueueBindings | undefined) {
  const kv = env?.SESSIONS
  return {
    async get(id: string): Promise<JobRecord | undefined> {
      if (!kv) return memoryRecords.get(id)
      return ((await kv.get(`job:${id}`, 'json')) as JobRecord | null) ?? undefined
    },
    async put(record: JobRecord): Promise<void> {
      if (kv) {
        await kv.put(`job:${record.id}`, JSON.stringify(record), { expirationTtl: KV_TTL_SECONDS })
        return
      }
      memoryRecords.delete(record.id)
      memoryRecords.set(record.id, record)
      if (memoryRecords.size > MEMORY_RECORDS) {
        memoryRecords.delete(memoryRecords.keys().next().value as string)
      }
    },
  }
}

/**
 * The consumer, shared by both backends: two retries, 50 ms then 100 ms apart in process
 * (Cloudflare rounds delays up to whole seconds), then the dead letter.
 */
export const squareConsumer = defineJobConsumer<SquareJob, QueueBindings | undefined>({
  maxRetries: 2,
  backoff: exponentialBackoff({ baseSeconds: 0.05, maxSeconds: 1 }),
  concurrency: 4,
  async handle(job, { attempt, env }) {
    const store = records(env)
    await store.put({ id: job.id, status: 'running', attempts: attempt })
    if (job.fail === 'always' || attempt <= job.fail) {
      throw new Error(`attempt ${attempt} failed on purpose`)
    }
    await store.put({ id: job.id, status: 'done', attempts: attempt, result: job.n * job.n })
  },
  async onDeadLetter(job, error, { attempt, env }) {
    const message = error instanceof Error ? error.message : String(error)
    await records(env).put({
      id: job.id,
      status: 'dead-lettered',
      attempts: attempt,
      error: message,
    })
  },
})

const jobBody = validator('json', (body: unknown, c) => {
  const {
    n,
    fail = 0,
    delaySeconds = 0,
  } = (typeof body === 'object' && body ? body : {}) as {
    n?: unknown
    fail?: unknown
    delaySeconds?: unknown
  }
  const problems: string[] = []
  if (!Number.isSafeInteger(n) || Math.abs(n as number) > 1_000_000) {
    problems.push('n must be an integer from -1000000 to 1000000')
  }
  if (fail !== 'always' && !(Number.isInteger(fail) && (fail as number) >= 0)) {
    problems.push('fail must be a non-negative integer or "always"')
  }
  if (typeof delaySeconds !== 'number' || !(delaySeconds >= 0 && delaySeconds <= 60)) {
    problems.push('delaySeconds must be a number from 0 to 60')
  }
  if (problems.length > 0) return c.json({ error: 'Invalid job', problems }, 422)
  return { n: n as number, fail: fail as number | 'always', delaySeconds: delaySeconds as number }
})

/**
 * The `/queue` routes. The in-process queue is tied to `service`: it starts with it, and on
 * graceful shutdown it stops taking jobs and lets the running ones finish.
 *
 * @example
 * ```ts
 * app.route('/queue', queueRoutes(service))
 * ```
 */
export function queueRoutes<E extends Env>(service: Service<E>): Hono<{ Bindings: QueueBindings }> {
  const local = new MemoryJobQueue(squareConsumer, { name: 'edgeio-jobs' })
  service.cleanupCtx(() => local.lifetime())
  const routes = new Hono<{ Bindings: QueueBindings }>()

  routes.post('/jobs', jobBody, async (c) => {
    const { n, fail, delaySeconds } = c.req.valid('json')
    const id = crypto.randomUUID()
    const jobs: JobQueue<SquareJob> = c.env?.JOBS
      ? new CloudflareJobQueue(c.env.JOBS)
      : (c.env?.JOB_QUEUE ?? local)
    // The record first: the consumer may run before this handler returns.
    await records(c.env).put({ id, status: 'queued', attempts: 0 })
    await jobs.send({ id, n, fail }, { delaySeconds })
    return c.json({ id, status: 'queued' }, 202, { Location: `/queue/jobs/${id}` })
  })

  routes.get('/jobs/:id', async (c) => {
    const record = await records(c.env).get(c.req.param('id'))
    if (!record) throw new HTTPException(404, { message: 'No such job' })
    return c.json(record)
  })

  return routes
}
