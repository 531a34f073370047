/**
 * `edgeio/testing` as a user gets it: a sample project made from the packed tarball, with
 * its own wrangler.toml and KV binding, and one test file that holds its service to the
 * same cases on node, workerd and deno through `describeRuntimes`. A copy with a planted
 * runtime-specific bug fails on workerd only, and the report names workerd: a handler that
 * compiles code from a string (`new Function`, as template and validator libraries do),
 * which workerd forbids. (Reading `process.env` in a handler, the other classic, no longer
 * throws there: workerd has a `process` global at this compatibility date.) After each run no server process and no listening port is left.
 *
 * vitest, wrangler and deno are this repository's, linked into the sample's node_modules:
 * the same versions a user installs, without unpacking ~250 MB of binaries per run.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { bin, createProject, type Project, pinned, root } from './consumer.ts'

const app = `
import { Hono } from 'hono'
import { errorHandler, type KVNamespaceLike, Service } from 'edgeio'

/** Counts per name: in the KV binding where there is one (workerd), else in memory. */
const memory = new Map<string, string>()
const fallback: KVNamespaceLike = {
  get: async (key) => memory.get(key) ?? null,
  put: async (key, value) => void memory.set(key, value),
  delete: async (key) => void memory.delete(key),
}

type Env = { Bindings: { COUNTS?: KVNamespaceLike; GREETING?: string } }
const app = new Hono<Env>()
app.onError(errorHandler)
app.get('/', (c) => c.text(\`\${c.env.GREETING ?? 'hello'} from edgeio\`))
app.post('/count/:name', async (c) => {
  const kv = c.env.COUNTS ?? fallback
  const next = Number((await kv.get(c.req.param('name'))) ?? 0) + 1
  await kv.put(c.req.param('name'), String(next))
  return c.json({ count: next, kv: c.env.COUNTS ? 'binding' : 'memory' })
})
export const service = new Service(app)
`

const worker = `
import { toWorker } from 'edgeio/workers'
import { service } from './app.ts'
export default toWorker(service)
`

const wranglerToml = `
name = "sample"
main = "src/worker.ts"
compatibility_date = "2026-11-01"
send_metrics = false

[[kv_namespaces]]
binding = "COUNTS"
id = "sample-counts"
`

const sampleTest = `
import { readFileSync, writeFileSync } from 'node:fs'
import { describeRuntimes } from 'edgeio/testing'
import { afterAll, expect, test } from 'vitest'

const urls: string[] = []
afterAll(() => writeFileSync('servers.json', JSON.stringify(urls)))

describeRuntimes(['node', 'workerd', 'deno'], { app: './src/app.ts', env: { GREETING: 'hi' } }, (server) => {
  test('answers with the greeting from its env', async () => {
    urls.push(server.url)
    const res = await server.fetch('/')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('hi from edgeio')
    // Deno runs a generated entry in the project; a killed run leaves it, and git ignores it.
    if (server.runtime === 'deno') expect(readFileSync('.edgeio-testing/.gitignore', 'utf8')).toBe('*\\n')
  })

  test('counts in the KV binding on workerd, in memory elsewhere', async () => {
    const first = await (await server.fetch('/count/a', { method: 'POST' })).json()
    const second = await (await server.fetch('/count/a', { method: 'POST' })).json()
    expect(second.count).toBe(first.count + 1)
    expect(second.kv).toBe(server.runtime === 'workerd' ? 'binding' : 'memory')
  })
})
`

let project: Project
beforeAll(async () => {
  project = await createProject(
    {
      'src/app.ts': app,
      'src/worker.ts': worker,
      'wrangler.toml': wranglerToml,
      'sample.test.ts': sampleTest,
      'deno.json': JSON.stringify({ nodeModulesDir: 'manual', unstable: ['no-legacy-abort'] }),
    },
    [inject('edgeioTarball'), pinned('hono'), pinned('@hono/node-server')]
  )
  for (const name of ['vitest', 'wrangler', 'deno']) {
    await symlink(`${root}node_modules/${name}`, project.path('node_modules', name), 'dir')
  }
  await mkdir(project.path('node_modules/.bin'), { recursive: true })
  await symlink(bin('deno'), project.path('node_modules/.bin/deno'))
}, 120_000)
afterAll(() => project?.remove())

/** Runs the sample's tests with vitest in `dir`: its exit status and what it printed. */
function runSample(dir: string): { status: number | null; output: string } {
  const run = spawnSync(bin('vitest'), ['run', '--reporter=verbose'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', CI: '1' },
    timeout: 180_000,
  })
  return { status: run.status, output: run.stdout + run.stderr }
}

/** After a run: every server it started has stopped listening, and no process is left. */
async function expectNothingLeft(dir: string): Promise<void> {
  const urls = JSON.parse(await readFile(`${dir}/servers.json`, 'utf8')) as string[]
  expect(urls).toHaveLength(3)
  for (const url of urls) {
    const { hostname, port } = new URL(url)
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), hostname)
      socket.once('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', () => resolve(true))
    })
    expect(refused, `${url} still accepts connections`).toBe(true)
  }
  const processes = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout
  expect(processes.split('\n').filter((line) => line.includes(dir))).toEqual([])
  expect(existsSync(`${dir}/.edgeio-testing`), 'the generated entries are removed').toBe(false)
}

test('the sample passes on node, workerd and deno, and leaves nothing running', async () => {
  const { status, output } = runSample(project.dir)
  expect(status, output).toBe(0)
  expect(output).toMatch(/✓ .*\[node\].*answers with the greeting/)
  expect(output).toMatch(/✓ .*\[workerd\].*counts in the KV binding/)
  expect(output).toMatch(/✓ .*\[deno\].*answers with the greeting/)
  await expectNothingLeft(project.dir)
}, 200_000)

test('a handler compiling code from a string fails on workerd only, named in the report', async () => {
  const copy = `${project.dir}-bug`
  await cp(project.dir, copy, { recursive: true, verbatimSymlinks: true })
  try {
    const source = await readFile(`${copy}/src/app.ts`, 'utf8')
    await writeFile(
      `${copy}/src/app.ts`,
      source.replace(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the sample's source text
        "c.text(`${c.env.GREETING ?? 'hello'} from edgeio`)",
        "c.text(new Function('g', 'return g + \" from edgeio\"')(c.env.GREETING ?? 'hello'))"
      )
    )
    const { status, output } = runSample(copy)
    expect(status, output).not.toBe(0)
    expect(output).toMatch(/(×|✗|FAIL).*\[workerd\].*answers with the greeting/)
    expect(output).not.toMatch(/(×|✗|FAIL).*\[(node|deno)\]/)
    await expectNothingLeft(copy)
  } finally {
    spawnSync('rm', ['-rf', copy])
  }
}, 200_000)
