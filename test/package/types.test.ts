/**
 * The package's types as a user's editor and CI see them: `tsc --noEmit --strict` over
 * consumer code, with `moduleResolution` `bundler` and `nodenext`, and no skipLibCheck (the
 * declarations edgeio ships are checked too). `@ts-expect-error` lines prove the variables
 * edgeio's middleware sets are typed, not `any`.
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { bin, createProject, type Project, pinned, runIn } from './consumer.ts'

const node = `
import { Hono } from 'hono'
import {
  deadline,
  identity,
  Queue,
  QueueEmpty,
  requireAuth,
  type Session,
  type SessionVariables,
  Service,
  security,
  session,
  sessionIdentity,
} from 'edgeio'
import { type NodeServer, serve } from 'edgeio/node'

const secrets = ['a secret of at least thirty-two characters']

// Chained: each middleware's type adds its variables to the routes after it.
const app = new Hono()
  .use(session({ secrets }))
  .use(security({ identity: sessionIdentity() }))
  .get('/me', requireAuth(), async (c) => {
    const current: Session = c.var.session
    const user: string | undefined = await identity(c)
    // @ts-expect-error c.var.session is a Session, not any
    const wrong: number = c.var.session
    return c.json({ user, isNew: current.isNew, wrong })
  })
  .get('/slow', deadline({ ms: 1_000 }), (c) => {
    const signal: AbortSignal = c.var.signal
    // @ts-expect-error c.var.signal is an AbortSignal, not any
    const wrong: string = c.get('signal')
    return c.text(String(signal.aborted) + wrong)
  })

// Declared: an app that adds session() with app.use() names its variables once.
const declared = new Hono<{ Variables: SessionVariables }>()
declared.use(session({ secrets }))
declared.get('/', (c) => c.text(String(c.get('session').isNew)))

// An app without session() has no session variable.
// @ts-expect-error no session() here
new Hono().get('/', (c) => c.text(String(c.var.session.isNew)))

const queue = new Queue<number>({ maxsize: 1 })
queue.putNowait(1)
const item: number = queue.getNowait()
try {
  queue.getNowait()
} catch (error) {
  if (!(error instanceof QueueEmpty)) throw error
}

const server: NodeServer = await serve(new Service(app), { port: 0, signals: false })
console.log(server.url, item, declared)
await server.close()
`

const worker = `
import { Hono } from 'hono'
import { DistributedLock, type CoordinatorNamespace, Service } from 'edgeio'
import { EdgeioCoordinator, toWorker } from 'edgeio/workers'

type Env = { Bindings: { COORDINATOR: CoordinatorNamespace } }
const app = new Hono<Env>()
app.post('/count', async (c) => {
  const lock = new DistributedLock(c.env.COORDINATOR, 'counter')
  return lock.run(() => c.text('counted'))
})
export { EdgeioCoordinator }
export default toWorker(new Service(app), {
  async scheduled(controller: ScheduledController, env: unknown, ctx: ExecutionContext) {
    ctx.waitUntil(Promise.resolve(controller.cron + String(env)))
  },
})
`

const tsconfig = (resolution: 'bundler' | 'nodenext', types: string[], lib: string[]) =>
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: 'ES2022',
      module: resolution === 'bundler' ? 'preserve' : 'nodenext',
      moduleResolution: resolution,
      lib,
      types,
    },
    include: [resolution === 'bundler' ? '*.ts' : '*.mts'],
  })

let project: Project
beforeAll(async () => {
  project = await createProject(
    {
      'node/bundler/tsconfig.json': tsconfig('bundler', ['node'], ['ES2024', 'DOM']),
      'node/bundler/app.ts': node,
      'node/nodenext/tsconfig.json': tsconfig('nodenext', ['node'], ['ES2024', 'DOM']),
      'node/nodenext/app.mts': node,
      'workers/bundler/tsconfig.json': tsconfig(
        'bundler',
        ['@cloudflare/workers-types'],
        ['ES2024']
      ),
      'workers/bundler/worker.ts': worker,
      'workers/nodenext/tsconfig.json': tsconfig(
        'nodenext',
        ['@cloudflare/workers-types'],
        ['ES2024']
      ),
      'workers/nodenext/worker.mts': worker,
    },
    [
      inject('edgeioTarball'),
      pinned('hono'),
      pinned('@hono/node-server'),
      pinned('ws'),
      pinned('@types/node'),
      pinned('@cloudflare/workers-types'),
    ]
  )
}, 120_000)
afterAll(() => project?.remove())

/**
 * tsc's errors for one consumer. Under workers-types, hono 4.13's own declarations fail
 * (`MessageEvent` is not generic there, `BinaryType` is missing) whatever edgeio does:
 * those lines are hono's and are set aside; every other line fails the test.
 */
async function typeErrors(dir: string, ignoreHono: boolean): Promise<string[]> {
  const output = await runIn(dir, bin('tsc'), ['-p', 'tsconfig.json']).catch(
    (error: Error) => error.message
  )
  return output
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    .filter((line) => !(ignoreHono && line.includes('node_modules/hono/')))
}

describe.each(['node', 'workers'])('%s consumer', (kind) => {
  test.each(['bundler', 'nodenext'])(
    'tsc --strict, moduleResolution %s: no errors',
    async (resolution) => {
      expect(await typeErrors(project.path(kind, resolution), kind === 'workers')).toEqual([])
    }
  )
})
