/**
 * The packed package on Node, as a user gets it: `npm install edgeio hono @hono/node-server
 * ws` into an empty project, then plain `node app.js` / `node app.ts` / a CommonJS file,
 * on the Node this repository pins and on the lowest one `engines` admits.
 */
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import {
  bin,
  createProject,
  executorFiles,
  exercise,
  nodeBinary,
  nodeFloor,
  npmInstall,
  type Project,
  pinned,
  runIn,
  serviceSource,
  spawnServer,
} from './consumer.ts'

const commonjs = `
const { Hono } = require('hono')
const { errorHandler, Service } = require('edgeio')
const { serve } = require('edgeio/node')

const app = new Hono()
app.onError(errorHandler)
app.get('/', (c) => c.text('hello from edgeio'))
serve(new Service(app), { port: 0 }).then((server) => console.log(\`listening on \${server.url}\`))
`

const websocketService = `
import { Hono } from 'hono'
import { Service, upgradeWebSocket } from 'edgeio'
import { serve } from 'edgeio/node'

const app = new Hono()
app.get('/ws', upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(\`echo: \${event.data}\`) })))
const server = await serve(new Service(app), { port: 0 })
console.log(\`listening on \${server.url}\`)
`

// A client on its own undici pool calling a server of the same process, as docs/client.md
// sets it up; prints what it got, or the error, and how many sockets the pool had open.
const pooledClient = `
import { Hono } from 'hono'
import { createClient, Service } from 'edgeio'
import { nodeFetch, serve } from 'edgeio/node'
const server = await serve(new Service(new Hono().get('/', (c) => c.text('pooled'))), { port: 0 })
const fetch = nodeFetch({ connections: 2 })
const client = createClient({ limit: { perHost: 2 }, fetch })
try {
  const texts = await Promise.all([1, 2, 3, 4, 5].map(async () => (await client.get(server.url)).text()))
  console.log(texts.join(' '), 'sockets:', fetch.connections()[new URL(server.url).origin])
} catch (error) {
  console.log('refused:', error.message)
}
await client.close()
await server.close()
`

/** Opens a WebSocket to `url`, sends `text`, resolves with the first reply or the close. */
function echoOnce(url: string, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace('http', 'ws'))
    socket.onopen = () => socket.send(text)
    socket.onmessage = (event) => {
      resolve(String(event.data))
      socket.close()
    }
    socket.onerror = () => resolve('error')
  })
}

let project: Project
beforeAll(async () => {
  project = await createProject(
    {
      'app.js': serviceSource({ adapter: 'edgeio/node' }),
      'app.ts': serviceSource({ adapter: 'edgeio/node', typed: true }),
      'app.cjs': commonjs,
      ...executorFiles('edgeio/node'),
      'websocket.js': websocketService,
      'client.js': pooledClient,
    },
    // As the README says for Node: no ws (WebSocket routes only), no piscina (executors only).
    [inject('edgeioTarball'), pinned('hono'), pinned('@hono/node-server')]
  )
}, 120_000)
afterAll(() => project?.remove())

test('one copy of hono: edgeio uses the app’s (a peer dependency)', async () => {
  const nested = await readdir(project.path('node_modules/edgeio')).catch(() => [])
  expect(nested).not.toContain('node_modules')
})

/** Serves `file` with `node`, checks what a user sees, then SIGTERM drains it (exit 0). */
async function serveWith(node: string, file: string, routes: { teapot: boolean }) {
  await exercise(await spawnServer(node, [file], { cwd: project.dir }), routes)
}

describe.each([
  ['pinned', async () => bin('node')],
  [`lowest in engines (${nodeFloor()})`, () => nodeBinary(nodeFloor())],
])('Node %s', (_, binary) => {
  let node: string
  beforeAll(async () => {
    node = await binary()
  }, 120_000)

  test('node app.js: 200, and HTTPException(418) stays 418', () =>
    serveWith(node, 'app.js', { teapot: true }))
  test('node app.ts (type stripping, no flags)', () => serveWith(node, 'app.ts', { teapot: true }))
  test('require() from CommonJS (require(esm))', () =>
    serveWith(node, 'app.cjs', { teapot: false }))
})

describe('service.executor() on worker threads (piscina, an optional peer)', () => {
  test('without piscina installed, startup fails naming the package to install', async () => {
    const failure = await runIn(project.dir, bin('node'), ['executor.js']).catch(
      (error: Error) => error.message
    )
    expect(failure).toContain('npm install piscina')
  })

  test('with piscina installed, a task runs on a thread of the installed package', async () => {
    await npmInstall(project.dir, [pinned('piscina')])
    const server = await spawnServer(bin('node'), ['executor.js'], { cwd: project.dir })
    try {
      expect(await (await fetch(server.url)).text()).toBe('42')
    } finally {
      server.child.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
  }, 60_000)
})

describe("createClient on nodeFetch's pool (undici, an optional peer loaded on the first call)", () => {
  test('without undici installed, the call fails naming the package to install', async () => {
    const output = await runIn(project.dir, bin('node'), ['client.js'])
    expect(output).toContain('refused: nodeFetch() pools connections with undici')
    expect(output).toContain('npm install undici')
  })

  test('with undici installed, calls go over the pool of the installed package', async () => {
    await npmInstall(project.dir, [pinned('undici')])
    const output = await runIn(project.dir, bin('node'), ['client.js'])
    expect(output).toMatch(/^pooled pooled pooled pooled pooled sockets: [12]$/m)
  }, 60_000)
})

describe('WebSockets (ws, an optional peer loaded on the first upgrade)', () => {
  test('without ws installed, the upgrade fails and the log names the package', async () => {
    const server = await spawnServer(bin('node'), ['websocket.js'], { cwd: project.dir })
    try {
      expect(await echoOnce(new URL('/ws', server.url).href, 'hi')).toBe('error')
      // Plain HTTP still works: the server did not need ws to start.
      expect((await fetch(server.url)).status).toBe(404)
    } finally {
      server.child.kill('SIGTERM')
    }
    await server.exited
    expect(server.stderr()).toContain('npm install ws')
  })

  test('with ws installed, messages echo through the installed package', async () => {
    await npmInstall(project.dir, [pinned('ws')])
    const server = await spawnServer(bin('node'), ['websocket.js'], { cwd: project.dir })
    try {
      expect(await echoOnce(new URL('/ws', server.url).href, 'hi')).toBe('echo: hi')
    } finally {
      server.child.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
  })
})
