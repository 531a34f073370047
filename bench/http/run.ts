/**
 * HTTP benchmark on Node: raw node:http, Hono on @hono/node-server, fastify and edgeio's Node
 * adapter serve the same three routes; autocannon loads them from a second process. Servers
 * alternate round by round; each server's CPU time per request is read from /proc, which
 * is steadier than req/s on a 2-core machine where the load generator competes.
 *
 *   node bench/http/run.ts [--rounds 3] [--duration 5] [--warmup 1] [--connections 64]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface HttpBenchOptions {
  rounds: number
  /** Seconds of measured load per server and route. */
  duration: number
  /** Seconds of load before each measurement, not counted. */
  warmup: number
  connections: number
}

export const SERVERS = ['raw', 'hono', 'fastify', 'edgeio'] as const
export type ServerName = (typeof SERVERS)[number]
export const ROUTES = [
  { name: 'GET /', path: '/' },
  { name: 'GET /user/:id', path: '/user/42' },
  { name: 'POST /echo', path: '/echo', method: 'POST', body: '{"hello":"world","n":[1,2,3]}' },
] as const

export interface Sample {
  round: number
  server: ServerName
  route: string
  requestsPerSecond: number
  p99Ms: number
  cpuMicrosPerRequest: number
  rssMiB: number
  errors: number
}

const node = `${root}node_modules/.bin/node`
const autocannon = `${root}node_modules/autocannon/autocannon.js`
const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true'])
    return true
  } catch {
    return false
  }
})()
/** Server on core 0, load generator on core 1, where taskset exists. */
export const pinned = (core: number, command: string, commandArgs: string[]): [string, string[]] =>
  hasTaskset ? ['taskset', ['-c', String(core), command, ...commandArgs]] : [command, commandArgs]

const CLOCK_TICKS_PER_SECOND = 100

/** User + system CPU seconds of a process, from /proc/<pid>/stat. */
export function serverCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) / 1024
}

/** Starts a benchmark server script on core 0 and resolves once it printed `ready`. */
export async function startBenchServer(
  script: string,
  port: number,
  env: Record<string, string> = {}
): Promise<ChildProcess> {
  const [command, commandArgs] = pinned(0, node, [script])
  const child = spawn(command, commandArgs, {
    env: { ...process.env, PORT: String(port), NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  for await (const chunk of child.stdout ?? []) {
    out += chunk
    if (out.includes('ready')) break
  }
  return child
}

/** The node process inside a taskset wrapper (taskset execs, so it is the same pid). */
const serverPid = (child: ChildProcess) => child.pid as number

interface LoadResult {
  requests: number
  rps: number
  p99: number
  errors: number
}

export async function load(
  port: number,
  route: (typeof ROUTES)[number],
  seconds: number,
  connections: number
): Promise<LoadResult> {
  const loadArgs = [
    autocannon,
    '--json',
    '-c',
    String(connections),
    '-d',
    String(seconds),
    ...('method' in route
      ? ['-m', route.method, '-H', 'content-type=application/json', '-b', route.body]
      : []),
    `http://127.0.0.1:${port}${route.path}`,
  ]
  const [command, commandArgs] = pinned(1, node, loadArgs)
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  await once(child, 'exit')
  const result = JSON.parse(out) as {
    requests: { average: number; total: number }
    latency: { p99: number }
    errors: number
    non2xx: number
  }
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  }
}

export async function runHttpBench(options: HttpBenchOptions): Promise<Sample[]> {
  const samples: Sample[] = []
  let port = 19_100
  for (let round = 1; round <= options.rounds; round++) {
    for (const server of SERVERS) {
      const child = await startBenchServer(`${root}bench/http/servers/${server}.ts`, ++port)
      const pid = serverPid(child)
      for (const route of ROUTES) {
        await load(port, route, options.warmup, options.connections)
        const cpuBefore = serverCpuSeconds(pid)
        const result = await load(port, route, options.duration, options.connections)
        const cpu = serverCpuSeconds(pid) - cpuBefore
        samples.push({
          round,
          server,
          route: route.name,
          requestsPerSecond: result.rps,
          p99Ms: result.p99,
          cpuMicrosPerRequest: (cpu / result.requests) * 1e6,
          rssMiB: rssMiB(pid),
          errors: result.errors,
        })
        process.stderr.write(
          `round ${round} ${server.padEnd(8)} ${route.name.padEnd(14)} ${Math.round(result.rps)} req/s, ` +
            `${((cpu / result.requests) * 1e6).toFixed(1)} µs CPU/req\n`
        )
      }
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
  return samples
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
    },
  })
  const samples = await runHttpBench({
    rounds: Number(values.rounds),
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
  })
  console.log(JSON.stringify(samples, null, 2))
}
