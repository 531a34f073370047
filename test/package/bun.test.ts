/**
 * The packed package on Bun, as a user gets it: `npm install edgeio hono` into an empty
 * project, then `bun app.js` / `bun app.ts` with the `bun` binary this repository pins,
 * and the declarations of `edgeio/bun` type-checked against `@types/bun`.
 */
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import {
  bin,
  createProject,
  executorFiles,
  exercise,
  type Project,
  pinned,
  runIn,
  serviceSource,
  spawnServer,
} from './consumer.ts'

const websocketService = `
import { Hono } from 'hono'
import { Service, upgradeWebSocket } from 'edgeio'
import { serve } from 'edgeio/bun'

const app = new Hono()
app.get('/ws', upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(\`echo: \${event.data}\`) })))
const server = await serve(new Service(app), { port: 0 })
console.log(\`listening on \${server.url}\`)
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

const bun = (project: Project, file: string) =>
  spawnServer(bin('bun'), [file], { cwd: project.dir })

let project: Project
beforeAll(async () => {
  project = await createProject(
    {
      'app.js': serviceSource({ adapter: 'edgeio/bun' }),
      'app.ts': serviceSource({ adapter: 'edgeio/bun', typed: true }),
      ...executorFiles('edgeio/bun'),
      'websocket.js': websocketService,
    },
    // As the README says for Bun: edgeio and hono; @types/bun only for the type check.
    [inject('edgeioTarball'), pinned('hono'), pinned('@types/bun')]
  )
}, 120_000)
afterAll(() => project?.remove())

test('bun app.js: 200, HTTPException(418) stays 418, SIGTERM drains', async () => {
  await exercise(await bun(project, 'app.js'), { teapot: true })
})

test('bun app.ts (Bun runs TypeScript itself)', async () => {
  await exercise(await bun(project, 'app.ts'), { teapot: true })
})

test('the types check with @types/bun (tsc, bundler resolution)', async () => {
  await writeFile(
    project.path('tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2024',
        module: 'preserve',
        moduleResolution: 'bundler',
        types: ['bun'],
        strict: true,
        noEmit: true,
      },
      files: ['app.ts'],
    })
  )
  await runIn(project.dir, bin('tsc'), ['-p', 'tsconfig.json'])
})

test('service.executor() on Web Workers from the installed package', async () => {
  const server = await bun(project, 'executor.js')
  try {
    expect(await (await fetch(server.url)).text()).toBe('42')
  } finally {
    server.child.kill('SIGTERM')
  }
  expect(await server.exited).toBe(0)
})

test('WebSockets through hono/bun: messages echo, and nothing else is installed', async () => {
  const server = await bun(project, 'websocket.js')
  try {
    expect(await echoOnce(new URL('/ws', server.url).href, 'hi')).toBe('echo: hi')
  } finally {
    server.child.kill('SIGTERM')
  }
  expect(await server.exited).toBe(0)
})
