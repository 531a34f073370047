/**
 * The package on Workers: a consumer worker importing `edgeio` and `edgeio/workers`, with
 * only `edgeio` and `hono` installed, bundled by `wrangler deploy --dry-run` and served by
 * a real workerd (wrangler's dev server). Nothing Node-only may reach the install or bundle.
 */
import { readdir, readFile } from 'node:fs/promises'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { bin, createProject, type Project, pinned, runIn } from './consumer.ts'

const worker = `
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { concurrencyLimit, errorHandler, Lock, notFoundHandler, Service } from 'edgeio'
import { toWorker } from 'edgeio/workers'

const lock = new Lock()
const app = new Hono()
app.onError(errorHandler)
app.notFound(notFoundHandler)
app.use(concurrencyLimit({ max: 8 }))
app.get('/', (c) => lock.run(() => c.text('hello from edgeio')))
app.get('/teapot', () => {
  throw new HTTPException(418, { message: "I'm a teapot" })
})
export default toWorker(new Service(app))
`

// No nodejs_compat: a node:* import anywhere in what the worker pulls in fails the bundle.
const wranglerToml = `
name = "edgeio-consumer"
main = "src/index.ts"
compatibility_date = "2026-11-01"
send_metrics = false
`

let project: Project
let bundle: string
beforeAll(async () => {
  project = await createProject({ 'src/index.ts': worker, 'wrangler.toml': wranglerToml }, [
    inject('edgeioTarball'),
    pinned('hono'),
  ])
  await runIn(project.dir, bin('wrangler'), ['deploy', '--dry-run', '--outdir', 'out'], {
    WRANGLER_SEND_METRICS: 'false',
  })
  bundle = await readFile(project.path('out/index.js'), 'utf8')
}, 120_000)
afterAll(() => project?.remove())

test('a Workers install has none of the Node-only peers', async () => {
  const installed = await readdir(project.path('node_modules'))
  expect(installed).toEqual(expect.arrayContaining(['edgeio', 'hono']))
  for (const name of ['ws', 'piscina', '@hono']) expect(installed).not.toContain(name)
})

test('the bundle holds none of ws, piscina, @hono/node-server, node:http', () => {
  expect(bundle).toContain('hello from edgeio')
  for (const marker of [
    'node_modules/ws/',
    'node_modules/piscina/',
    'node_modules/@hono/node-server/',
    'node:http',
    'WebSocketServer',
  ]) {
    expect(bundle).not.toContain(marker)
  }
})

test('sideEffects lets the bundler drop what the worker does not use', () => {
  expect(bundle).toMatch(/\bLock = class\b|class Lock\b/)
  for (const unused of [
    'class DistributedSemaphore',
    'class EdgeioCoordinator',
    'class Broadcast',
  ]) {
    expect(bundle).not.toContain(unused)
  }
})

test('served by workerd: 200, and HTTPException(418) stays 418', async () => {
  const { unstable_startWorker } = await import('wrangler')
  const served = await unstable_startWorker({
    config: project.path('wrangler.toml'),
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      logLevel: 'none',
    },
  })
  try {
    await served.ready
    const base = await served.url
    const home = await fetch(base)
    expect(home.status).toBe(200)
    expect(await home.text()).toBe('hello from edgeio')
    const teapot = await fetch(new URL('/teapot', base))
    expect(teapot.status).toBe(418)
    expect(await teapot.json()).toEqual({ error: "I'm a teapot" })
  } finally {
    await served.dispose()
  }
}, 60_000)
