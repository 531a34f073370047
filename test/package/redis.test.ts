/**
 * `edgeio/redis` as a user gets it: the packed tarball with ioredis and bullmq installed
 * beside it (optional peers), one service file served by Node and by Deno on one real Redis
 * (a lock, a job queue, a rate limit shared by the two processes), its types checked with
 * tsc; and without ioredis, the rest of edgeio still imports and `edgeio/redis` names the
 * package to install.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { type RedisServer, startRedis } from '../redis/server.ts'
import {
  bin,
  createProject,
  type Project,
  pinned,
  projectWithoutPeers,
  runIn,
  type ServerProcess,
  spawnServer,
} from './consumer.ts'

/** The user's service, served by `edgeio/<adapter>`. */
const service = (adapter: 'node' | 'deno') => `
import { Hono } from 'hono'
import {
  defineJobConsumer,
  DistributedLock,
  DistributedRateLimitStore,
  errorHandler,
  rateLimit,
  Service,
} from 'edgeio'
import { createRedisCoordinator, RedisJobQueue } from 'edgeio/redis'
import { serve } from 'edgeio/${adapter}'
import { Redis } from 'ioredis'

const url: string = ${adapter === 'deno' ? "Deno.env.get('REDIS_URL')!" : 'process.env.REDIS_URL!'}
const redis = new Redis(url)
const coordinator = createRedisCoordinator({ client: redis })
const jobs = new RedisJobQueue(
  defineJobConsumer<{ id: string; n: number }>({
    handle: async (job) => {
      await redis.set(\`result:\${job.id}\`, String(job.n * job.n))
    },
  }),
  { connection: { url }, name: 'squares' }
)

const app = new Hono()
app.onError(errorHandler)
app.post('/increment', async (c) => {
  const lock = new DistributedLock(coordinator, 'counter')
  return lock.run(async ({ token }) => {
    const values = coordinator.get(coordinator.idFromName('values'))
    const { value } = await values.read('counter')
    const next = (typeof value === 'number' ? value : 0) + 1
    await values.write('counter', next, token)
    return c.json({ value: next, token })
  })
})
app.post('/jobs/:id', async (c) => {
  await jobs.send({ id: c.req.param('id'), n: Number(c.req.query('n')) })
  return c.body(null, 202)
})
app.get(
  '/limited',
  rateLimit({ limit: 5, windowMs: 60_000, key: () => 'everyone', store: new DistributedRateLimitStore(coordinator) }),
  (c) => c.text('ok')
)

const edgeio = new Service(app)
edgeio.cleanupCtx(() => jobs.lifetime())
edgeio.onCleanup(async () => {
  await coordinator.close()
  await redis.quit()
})
const server = await serve(edgeio, { port: 0 })
console.log(\`listening on \${server.url}\`)
`

let redis: RedisServer
let project: Project
let bare: Project
beforeAll(async () => {
  redis = await startRedis()
  ;[project, bare] = await Promise.all([
    createProject(
      {
        'node.ts': service('node'),
        'deno.ts': service('deno'),
        'deno.json': JSON.stringify({ nodeModulesDir: 'manual', lock: false }),
        'redis-errors.d.ts': "declare module 'redis-errors'\n",
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2024',
            allowImportingTsExtensions: true,
            types: ['node'],
          },
          // No skipLibCheck, so that edgeio/redis's declarations are checked too. ioredis
          // 6.1's own import the untyped 'redis-errors': the shim a user adds for that.
          files: ['node.ts', 'redis-errors.d.ts'],
        }),
      },
      [
        inject('edgeioTarball'),
        pinned('hono'),
        pinned('@hono/node-server'),
        pinned('ioredis'),
        pinned('bullmq'),
        pinned('@types/node'),
        pinned('typescript'),
      ]
    ),
    projectWithoutPeers('edgeio/redis', inject('edgeioTarball')),
  ])
}, 180_000)
afterAll(async () => {
  await Promise.all([project?.remove(), bare?.remove()])
  await redis?.stop()
})

const serveOn = (runtime: 'node' | 'deno'): Promise<ServerProcess> =>
  runtime === 'node'
    ? spawnServer(bin('node'), ['node.ts'], { cwd: project.dir, env: { REDIS_URL: redis.url } })
    : spawnServer(
        bin('deno'),
        ['run', '--cached-only', '--allow-net', '--allow-env', '--allow-read', 'deno.ts'],
        { cwd: project.dir, env: { REDIS_URL: redis.url } }
      )

describe('edgeio/redis from the tarball, one Node and one Deno process on one Redis', () => {
  let servers: ServerProcess[] = []
  beforeAll(async () => {
    servers = await Promise.all([serveOn('node'), serveOn('deno')])
  }, 60_000)
  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGTERM')
    await Promise.all(servers.map((server) => server.exited))
  })

  test('40 increments spread over both processes under one lock end at 40', async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        fetch(new URL('/increment', servers[i % 2]!.url), { method: 'POST' })
      )
    )
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200))
    const values = (await Promise.all(replies.map((r) => r.json()))) as { value: number }[]
    expect(values.map((v) => v.value).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1)
    )
  })

  test('one rate limit for both: 5 of 12 requests admitted in all', async () => {
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => fetch(new URL('/limited', servers[i % 2]!.url)))
    )
    for (const reply of replies) await reply.body?.cancel()
    expect(replies.filter((r) => r.status === 200)).toHaveLength(5)
    expect(replies.filter((r) => r.status === 429)).toHaveLength(7)
  })

  test('a job sent through Deno is handled by a consumer of the fleet', async () => {
    const client = new Redis(redis.url)
    try {
      const sent = await fetch(new URL('/jobs/j1?n=12', servers[1]!.url), { method: 'POST' })
      expect(sent.status).toBe(202)
      const until = Date.now() + 10_000
      let result: string | null = null
      while (result === null && Date.now() < until) {
        result = await client.get('result:j1')
        if (result === null) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(result).toBe('144')
    } finally {
      client.disconnect()
    }
  })

  test('SIGTERM: both drain, close their connections and exit 0', async () => {
    for (const server of servers) server.child.kill('SIGTERM')
    expect(await Promise.all(servers.map((server) => server.exited))).toEqual([0, 0])
  })
})

test('the types check (tsc --strict, nodenext)', async () => {
  await runIn(project.dir, project.path('node_modules/.bin/tsc'), ['-p', '.'])
})

test('without ioredis, edgeio and edgeio/node import, and edgeio/redis names the package', async () => {
  const output = await runIn(bare.dir, bin('node'), ['check.mjs'])
  expect(output).toMatch(/refused: .*'ioredis'/)
})
