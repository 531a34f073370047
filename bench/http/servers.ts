/**
 * The servers of the HTTP and cold-start benchmarks, per runtime, each answering the routes
 * of ./servers/app.ts (raw node:http and fastify with their own copies):
 * - Node: raw node:http, Hono on @hono/node-server, fastify, edgeio's Node adapter.
 * - Deno: Hono on Deno.serve, edgeio's Deno adapter.
 * - workerd: the same routes as a plain Hono module worker and through edgeio's Service and
 *   toWorker, each bundled and served by `workerd serve` directly (no proxy in the path).
 */
import { fileURLToPath } from 'node:url'
import { startProcess, startReadyProcess, stopProcess, untilFirstResponse } from './process.ts'
import { prepareWorker, workerdArgs, workerdBinary } from './workerd.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export type Runtime = 'node' | 'deno' | 'workerd'

/** A server under test: started fresh for each round, on a port of the runner's choice. */
export interface BenchServer {
  /** `raw`, `hono`, `fastify` or `edgeio`. */
  name: string
  runtime: Runtime
  start(port: number): Promise<RunningServer>
}

export interface RunningServer {
  /** The process that serves (for workerd, workerd itself): its CPU and RSS are measured. */
  pid: number
  stop(): Promise<void>
}

/** The Node servers, in the order they alternate. */
export const SERVERS = ['raw', 'hono', 'fastify', 'edgeio'] as const
export type ServerName = (typeof SERVERS)[number]
const node = `${root}node_modules/.bin/node`
const deno = `${root}node_modules/.bin/deno`

/** A process whose pid is the server's and which prints `ready` once it listens. */
function processServer(
  runtime: Runtime,
  name: string,
  command: string,
  commandArgs: string[],
  env: Record<string, string> = {}
): BenchServer {
  return {
    name,
    runtime,
    async start(port) {
      const child = await startReadyProcess(command, commandArgs, port, env)
      return { pid: child.pid as number, stop: () => stopProcess(child) }
    },
  }
}

const nodeServer = (name: string) =>
  processServer('node', name, node, [`${root}bench/http/servers/${name}.ts`])

/** Deno offline: hono from node_modules, the repository's deno.json (no-legacy-abort). */
export const denoArgs = (script: string) => [
  'run',
  '--cached-only',
  '--node-modules-dir=manual',
  `--config=${root}deno.json`,
  '--allow-net',
  '--allow-env',
  // The edgeio server imports its adapter by URL (see servers/deno-edgeio.ts).
  '--allow-read',
  script,
]
export const DENO_ENV = { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' }

const denoServer = (name: string) =>
  processServer('deno', name, deno, denoArgs(`${root}bench/http/servers/deno-${name}.ts`), DENO_ENV)

/** The bundle entries served by workerd: the same as the bundle-size comparison's. */
export const WORKER_ENTRIES = {
  hono: 'bench/bundle/plain-hono.ts',
  edgeio: 'bench/bundle/edgeio.ts',
} as const

function workerdServer(name: keyof typeof WORKER_ENTRIES): BenchServer {
  let config: Promise<string> | undefined
  return {
    name,
    runtime: 'workerd',
    async start(port) {
      config ??= prepareWorker(name, WORKER_ENTRIES[name])
      const child = startProcess(workerdBinary, workerdArgs(await config, port))
      await untilFirstResponse(port, 30_000, child)
      return { pid: child.pid as number, stop: () => stopProcess(child) }
    },
  }
}

/** The servers of one runtime, in the order they alternate. */
export function serversOf(runtime: Runtime): BenchServer[] {
  switch (runtime) {
    case 'node':
      return SERVERS.map(nodeServer)
    case 'deno':
      return [denoServer('hono'), denoServer('edgeio')]
    case 'workerd':
      return [workerdServer('hono'), workerdServer('edgeio')]
  }
}
