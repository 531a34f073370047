/**
 * The package as users get it, for the cold-start and size rows: `npm pack`, then the
 * tarball installed into a fresh project beside hono, @hono/node-server and ws at the
 * versions this repository pins, with the benchmark servers written as that project's own
 * JavaScript files (Node then strips no types at start, as in a user's deployment).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchDir } from '../http/workerd.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface InstalledPackage {
  /** The consumer project: servers are `<dir>/<name>.js`, the worker `<dir>/worker.js`. */
  dir: string
  tarballBytes: number
  /** Files in the tarball, and those of them under dist/. */
  files: number
  distFiles: number
  unpackedBytes: number
}

const app = `
import { Hono } from 'hono'
const HELLO = 'Hello, World'
const user = (id) => ({ id, name: \`user \${id}\`, roles: ['reader'] })
export const app = new Hono()
  .get('/', (c) => c.text(HELLO))
  .get('/user/:id', (c) => c.json(user(c.req.param('id'))))
  .post('/echo', async (c) => c.json(await c.req.json()))
`

/** The same servers as bench/http/servers, importing the installed packages. */
const servers = {
  'node-hono': `
import { serve } from '@hono/node-server'
import { app } from './app.js'
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () =>
  console.log('ready')
)
`,
  'node-edgeio': `
import { Service } from 'edgeio'
import { serve } from 'edgeio/node'
import { app } from './app.js'
const service = new Service(app)
service.onStartup(() => {})
await serve(service, { port: Number(process.env.PORT) })
console.log('ready')
`,
  'deno-hono': `
import { app } from './app.js'
Deno.serve(
  { port: Number(Deno.env.get('PORT')), hostname: '127.0.0.1', onListen: () => console.log('ready') },
  app.fetch
)
`,
  // The bundle row's consumer worker: the benchmark routes through the installed package.
  worker: `
import { Service } from 'edgeio'
import { toWorker } from 'edgeio/workers'
import { app } from './app.js'
export default toWorker(new Service(app))
`,
  'deno-edgeio': `
import { Service } from 'edgeio'
import { serve } from 'edgeio/deno'
import { app } from './app.js'
const service = new Service(app)
service.onStartup(() => {})
await serve(service, { hostname: '127.0.0.1' })
console.log('ready')
`,
}

let installed: InstalledPackage | undefined

/** Packs the repository and installs the tarball into a bench project (once a run). */
export function installPackage(): InstalledPackage {
  installed ??= install()
  return installed
}

function install(): InstalledPackage {
  const dir = benchDir('installed')
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const [packed] = JSON.parse(output.slice(output.indexOf('['))) as [
    { filename: string; unpackedSize: number; files: { path: string }[] },
  ]
  const devDependencies = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
  ).devDependencies
  const pin = (name: string) => `${name}@${devDependencies[name]}`
  writeFileSync(join(dir, 'package.json'), '{"private": true, "type": "module"}')
  writeFileSync(
    join(dir, 'deno.json'),
    '{"nodeModulesDir": "manual", "unstable": ["no-legacy-abort"], "lock": false}'
  )
  writeFileSync(join(dir, 'app.js'), app)
  for (const [name, text] of Object.entries(servers)) writeFileSync(join(dir, `${name}.js`), text)
  execFileSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      `./${packed.filename}`,
      pin('hono'),
      pin('@hono/node-server'),
      pin('ws'),
    ],
    { cwd: dir, stdio: 'ignore' }
  )
  return {
    dir,
    tarballBytes: statSync(join(dir, packed.filename)).size,
    files: packed.files.length,
    distFiles: packed.files.filter((file) => file.path.startsWith('dist/')).length,
    unpackedBytes: packed.unpackedSize,
  }
}
