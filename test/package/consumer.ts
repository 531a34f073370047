/**
 * Throw-away consumer projects: a temporary folder with the files a user would write,
 * `npm install`ed from the packed tarball and the registry (the only network the tests use;
 * `--prefer-offline` takes what npm's cache already has).
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import type { ServerProcess } from '../conformance/spawn.ts'

export { type ServerProcess, spawnServer } from '../conformance/spawn.ts'

export const root = fileURLToPath(new URL('../../', import.meta.url))
export const bin = (name: string): string => join(root, 'node_modules/.bin', name)
const run = promisify(execFile)

const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>
  engines: { node: string }
}

/** `name@version` as this repository tests it, so consumers run what CI ran. */
export function pinned(name: string): string {
  const version = manifest.devDependencies[name]
  if (!version) throw new Error(`${name} is not a devDependency of edgeio`)
  return `${name}@${version}`
}

/** The lowest Node version `engines` admits (`>=22.18` → `22.18.0`). */
export function nodeFloor(): string {
  const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(manifest.engines.node)
  if (!match) throw new Error(`engines.node is not a plain floor: ${manifest.engines.node}`)
  return `${match[1]}.${match[2] ?? 0}.${match[3] ?? 0}`
}

export interface Project {
  readonly dir: string
  path(...parts: string[]): string
  remove(): Promise<void>
}

/** Writes `files` into a new folder and installs `dependencies` there. */
export async function createProject(
  files: Record<string, string>,
  dependencies: string[]
): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeio-consumer-'))
  const project: Project = {
    dir,
    path: (...parts) => join(dir, ...parts),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
  await writeFile(
    project.path('package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)
  )
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(project.path(name)), { recursive: true })
    await writeFile(project.path(name), text)
  }
  await npmInstall(dir, dependencies)
  return project
}

/**
 * A project with edgeio (from `tarball`), hono and @hono/node-server only, whose `check.mjs`
 * imports `edgeio`, `edgeio/node`, then `entry`: run it with node to see what a user gets when
 * the entry's optional peers are not installed (it prints `refused: <message>`).
 */
export function projectWithoutPeers(entry: string, tarball: string): Promise<Project> {
  const check = `
await import('edgeio')
await import('edgeio/node')
try {
  await import('${entry}')
  console.log('${entry} loaded')
} catch (error) {
  console.log('refused:', error.message)
}
`
  return createProject({ 'check.mjs': check }, [
    tarball,
    pinned('hono'),
    pinned('@hono/node-server'),
  ])
}

export async function npmInstall(dir: string, specs: string[]): Promise<void> {
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...specs],
    { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' } }
  )
}

/**
 * A Node binary of the given version from the registry's `node-<os>-<arch>` package (what
 * the `node` package itself installs), cached under node_modules/.cache between runs.
 */
export async function nodeBinary(version: string): Promise<string> {
  const platform = process.platform === 'win32' ? 'win' : process.platform
  const name = `${platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node'}-${platform}-${process.arch}`
  const cache = join(root, 'node_modules/.cache/edgeio', `node-${version}`)
  const binary = join(cache, 'node_modules', name, 'bin', 'node')
  try {
    await readFile(binary, { flag: 'r' }).then(() => undefined)
  } catch {
    await mkdir(cache, { recursive: true })
    await writeFile(join(cache, 'package.json'), '{"private":true}')
    await npmInstall(cache, [`${name}@${version}`])
  }
  return binary
}

/** Runs a command to its end; rejects with everything it printed when it fails. */
export async function runIn(
  dir: string,
  command: string,
  args: string[],
  env: Record<string, string> = {}
): Promise<string> {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', ...env },
      maxBuffer: 64 * 1024 * 1024,
    })
    return stdout + stderr
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string }
    throw new Error(`${[command, ...args].join(' ')} failed:\n${stdout}${stderr}`, {
      cause: error,
    })
  }
}

/**
 * The ten-line service of the consumer tests: edgeio's middleware, a route that throws
 * `HTTPException(418)`, served on an ephemeral port by `adapter`. `prefix` is put before
 * the package names (`npm:` for Deno's explicit form).
 */
export function serviceSource(options: {
  adapter: string
  edgeio?: string
  prefix?: string
  typed?: boolean
}): string {
  const { adapter, edgeio = 'edgeio', prefix = '', typed = false } = options
  return `
import { Hono } from '${prefix}hono'
import { HTTPException } from '${prefix}hono/http-exception'
import { concurrencyLimit, errorHandler, notFoundHandler, Service } from '${prefix}${edgeio}'
import { serve } from '${prefix}${adapter}'

const app = new Hono()
app.onError(errorHandler)
app.notFound(notFoundHandler)
app.use(concurrencyLimit({ max: 8 }))
app.get('/', (c) => c.text('hello from edgeio'))
app.get('/teapot', () => {
  throw new HTTPException(418, { message: "I'm a teapot" })
})
const service${typed ? ': Service' : ''} = new Service(app)
const server = await serve(service, { port: 0 })
console.log(\`listening on \${server.url}\`)
`
}

/**
 * What a user of the served service sees: 200 on `/`, the handler's 418 kept as 418 (one
 * copy of hono: edgeio's errorHandler knows the app's HTTPException), then SIGTERM drains
 * it (exit 0) with nothing logged as an error.
 */
export async function exercise(server: ServerProcess, routes: { teapot: boolean }): Promise<void> {
  try {
    const home = await fetch(server.url)
    expect(home.status).toBe(200)
    expect(await home.text()).toBe('hello from edgeio')
    if (routes.teapot) {
      const teapot = await fetch(new URL('/teapot', server.url))
      expect(teapot.status).toBe(418)
      expect(await teapot.json()).toEqual({ error: "I'm a teapot" })
    }
  } finally {
    server.child.kill('SIGTERM')
  }
  expect(await server.exited).toBe(0)
  expect(server.stdout() + server.stderr()).not.toMatch(/unhandled|Error/i)
}

/** A task module and a service whose route runs a task on the runtime's executor. */
export const executorFiles = (adapter: string): Record<string, string> => ({
  'tasks.js': 'export function double(n) {\n  return n * 2\n}\n',
  'executor.js': `
import { Hono } from 'hono'
import { defineTasks, Service } from 'edgeio'
import { serve } from '${adapter}'
import * as tasks from './tasks.js'

const app = new Hono()
const service = new Service(app)
const executor = service.executor(defineTasks(tasks, './tasks.js', import.meta.url), { size: 1 })
app.get('/', async (c) => c.text(String(await executor.run('double', 21))))
const server = await serve(service, { port: 0 })
console.log(\`listening on \${server.url}\`)
`,
})
