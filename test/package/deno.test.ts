/**
 * The package on Deno: the npm tarball through `node_modules` (bare `edgeio` and explicit
 * `npm:edgeio`), and the JSR layout — the exact files `deno publish --dry-run` would upload,
 * as a workspace member named `@edgeio/edgeio` — each serving the same service.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import {
  bin,
  createProject,
  executorFiles,
  exercise,
  type Project,
  pinned,
  root,
  runIn,
  serviceSource,
  spawnServer,
} from './consumer.ts'

const DENO_CONFIG = { nodeModulesDir: 'manual', unstable: ['no-legacy-abort'], lock: false }
const deno = (project: Project, file: string) =>
  spawnServer(
    bin('deno'),
    ['run', '--cached-only', '--allow-net', '--allow-env', '--allow-read', file],
    {
      cwd: project.dir,
    }
  )

let project: Project
beforeAll(async () => {
  project = await createProject(
    {
      'bare.ts': serviceSource({ adapter: 'edgeio/deno', typed: true }),
      ...executorFiles('edgeio/deno'),
      'npm.ts': serviceSource({ adapter: 'edgeio/deno', prefix: 'npm:', typed: true }),
      'jsr/app/main.ts': serviceSource({
        adapter: '@edgeio/edgeio/deno',
        edgeio: '@edgeio/edgeio',
        typed: true,
      }),
      'jsr/app/deno.json': JSON.stringify({
        imports: { hono: 'npm:hono@^4.13.0', 'hono/': 'npm:/hono@^4.13.0/' },
      }),
      'deno.json': JSON.stringify({ ...DENO_CONFIG, workspace: ['./jsr/edgeio', './jsr/app'] }),
    },
    [inject('edgeioTarball'), pinned('hono')]
  )
  // The JSR package: every file the dry run lists, copied as it would be uploaded.
  const listing = await runIn(root, bin('deno'), ['publish', '--dry-run', '--allow-dirty'], {
    DENO_NO_UPDATE_CHECK: '1',
  })
  const files = [...listing.matchAll(/file:\/\/(\/\S+) \(/g)].map((match) => match[1] as string)
  expect(files).toContain(join(root, 'deno.json'))
  for (const file of files) {
    const target = project.path('jsr/edgeio', file.slice(root.length))
    await mkdir(join(target, '..'), { recursive: true })
    await cp(file, target)
  }
  // A workspace member is configured by its own deno.json only: drop the repository's
  // runtime settings, which the workspace root carries.
  const member = JSON.parse(await readFile(project.path('jsr/edgeio/deno.json'), 'utf8'))
  for (const key of Object.keys(DENO_CONFIG)) delete member[key]
  await writeFile(project.path('jsr/edgeio/deno.json'), JSON.stringify(member))
}, 120_000)
afterAll(() => project?.remove())

test('npm tarball, bare specifiers (package.json): 200, 418 stays 418, SIGTERM drains', async () => {
  await exercise(await deno(project, 'bare.ts'), { teapot: true })
})

test('npm tarball, npm:edgeio', async () => {
  await exercise(await deno(project, 'npm.ts'), { teapot: true })
})

test('the types check under Deno (deno check, which includes edgeio/deno’s declarations)', async () => {
  await runIn(project.dir, bin('deno'), ['check', '--cached-only', 'bare.ts', 'npm.ts'], {
    DENO_NO_UPDATE_CHECK: '1',
  })
})

test('JSR layout: the published files as @edgeio/edgeio', async () => {
  await exercise(await deno(project, 'jsr/app/main.ts'), { teapot: true })
})

test('service.executor() on Web Workers from the installed package', async () => {
  const server = await deno(project, 'executor.js')
  try {
    expect(await (await fetch(server.url)).text()).toBe('42')
  } finally {
    server.child.kill('SIGTERM')
  }
  expect(await server.exited).toBe(0)
})
