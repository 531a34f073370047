/**
 * `edgeio/prometheus` as a user gets it: the packed tarball with the exporter and the SDK
 * installed beside it (optional peers), one service file served by Node and by Deno and
 * scraped, its types checked with tsc; and without the exporter, `edgeio` still imports and
 * `edgeio/prometheus` names the package to install.
 */
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { parseExposition, sampleValue } from '../prometheus/exposition.ts'
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

const service = (adapter: 'node' | 'deno') => `
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { Hono } from 'hono'
import { Service } from 'edgeio'
import { serve } from 'edgeio/${adapter}'
import { prometheusMetrics } from 'edgeio/prometheus'

const metrics = prometheusMetrics()
const provider = new MeterProvider({ readers: [metrics.reader] })
const hits = provider.getMeter('consumer').createCounter('hits', { description: 'Hits' })

const app = new Hono()
app.get('/', (c) => {
  hits.add(1)
  return c.text('ok')
})
app.get('/metrics', metrics.handler)
const server = await serve(new Service(app), { hostname: '127.0.0.1', port: 0 })
console.log(\`listening on \${server.url}\`)
`

let project: Project
let bare: Project
beforeAll(async () => {
  ;[project, bare] = await Promise.all([
    createProject(
      {
        'node.ts': service('node'),
        'deno.ts': service('deno'),
        'deno.json': JSON.stringify({ nodeModulesDir: 'manual', lock: false }),
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
          // No skipLibCheck: edgeio/prometheus's declarations are checked too.
          files: ['node.ts'],
        }),
      },
      [
        inject('edgeioTarball'),
        pinned('hono'),
        pinned('@hono/node-server'),
        pinned('@opentelemetry/exporter-prometheus'),
        pinned('@opentelemetry/sdk-metrics'),
        pinned('@types/node'),
        pinned('typescript'),
      ]
    ),
    projectWithoutPeers('edgeio/prometheus', inject('edgeioTarball')),
  ])
}, 180_000)
afterAll(async () => {
  await Promise.all([project?.remove(), bare?.remove()])
})

const serveOn = (runtime: 'node' | 'deno'): Promise<ServerProcess> =>
  runtime === 'node'
    ? spawnServer(bin('node'), ['node.ts'], { cwd: project.dir })
    : spawnServer(
        bin('deno'),
        ['run', '--cached-only', '--allow-net', '--allow-env', '--allow-read', 'deno.ts'],
        { cwd: project.dir }
      )

test.each(['node', 'deno'] as const)(
  '%s: the installed package serves a valid scrape',
  async (runtime) => {
    const server = await serveOn(runtime)
    try {
      await (await fetch(server.url)).text()
      await (await fetch(server.url)).text()
      const scrape = await fetch(new URL('/metrics', server.url))
      expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      expect(sampleValue(parseExposition(await scrape.text()), 'hits_total')).toBe(2)
    } finally {
      server.child.kill('SIGTERM')
    }
    expect(await server.exited).toBe(0)
  }
)

test('the types check (tsc --strict, nodenext)', async () => {
  await runIn(project.dir, project.path('node_modules/.bin/tsc'), ['-p', '.'])
})

test('without the exporter, edgeio imports and edgeio/prometheus names the package', async () => {
  const output = await runIn(bare.dir, bin('node'), ['check.mjs'])
  expect(output).toMatch(/refused: .*'@opentelemetry\/exporter-prometheus'/)
})
