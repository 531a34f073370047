/**
 * HTTP benchmark: servers answering the same three routes are loaded by autocannon from a
 * second process, alternating (A B C D A B C D …) route by route within each round. Each server's CPU time per
 * request is read from /proc, which is steadier than req/s on a 2-core machine where the
 * load generator competes. The servers of each runtime are in ./servers.ts.
 *
 *   node bench/http/run.ts [--runtime node|deno|workerd] [--rounds 3] [--duration 5]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { perfAvailable, startInstructionCount } from '../perf.ts'
import type { LoadReply, LoadRequest } from './loader.ts'
// A cycle (servers.ts builds on this file) that is safe: each side uses the other only in functions.
import { serversOf } from './servers.ts'
import { removeBenchDirs } from './workerd.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

export interface HttpBenchOptions {
  rounds: number
  /** Seconds of measured load per server and route. */
  duration: number
  /** Seconds of load before each measurement, not counted. */
  warmup: number
  connections: number
}

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
export const ROUTES = [
  { name: 'GET /', path: '/' },
  { name: 'GET /user/:id', path: '/user/42' },
  { name: 'POST /echo', path: '/echo', method: 'POST', body: '{"hello":"world","n":[1,2,3]}' },
] as const
export type Route = (typeof ROUTES)[number]

export interface Sample {
  round: number
  runtime: Runtime
  server: string
  route: string
  requestsPerSecond: number
  p99Ms: number
  cpuMicrosPerRequest: number
  /** User-space instructions per request (perf), where the CPU exposes counters. */
  instructionsPerRequest: number | undefined
  rssMiB: number
  errors: number
}

export const node = `${root}node_modules/.bin/node`
export const hasTaskset = (() => {
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

/** User + system CPU seconds of a process (all its threads), from /proc/<pid>/stat. */
export function serverCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

/**
 * On-CPU seconds of a process's live threads with nanosecond resolution (schedstat), for
 * short spans such as a cold start where /proc/<pid>/stat's 10 ms ticks are too coarse.
 */
export function serverCpuSecondsPrecise(pid: number): number {
  let nanos = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return nanos / 1e9
}

export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) / 1024
}

/** Starts a Node benchmark server script on core 0 and resolves once it printed `ready`. */
export async function startBenchServer(
  script: string,
  port: number,
  env: Record<string, string> = {}
): Promise<ChildProcess> {
  return startReadyProcess(node, [script], port, env)
}

/** Spawns a server command on core 0 (taskset execs it, so the pid is the server's). */
export function startProcess(
  command: string,
  commandArgs: string[],
  env: Record<string, string> = {},
  stdout: 'pipe' | 'ignore' = 'ignore'
): ChildProcess {
  const [pinnedCommand, pinnedArgs] = pinned(0, command, commandArgs)
  return spawn(pinnedCommand, pinnedArgs, {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', stdout, 'inherit'],
  })
}

/** Spawns a server command on core 0 and resolves once it printed `ready` on stdout. */
export async function startReadyProcess(
  command: string,
  commandArgs: string[],
  port: number,
  env: Record<string, string> = {}
): Promise<ChildProcess> {
  const child = startProcess(command, commandArgs, { PORT: String(port), ...env }, 'pipe')
  // stdout stays drained afterwards, so that a server that logs cannot block on a full pipe.
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', function onData(chunk) {
      out += chunk
      if (!out.includes('ready')) return
      child.stdout?.off('data', onData).resume()
      child.off('exit', onExit)
      resolve()
    })
    function onExit(code: number | null) {
      reject(new Error(`${command} ${commandArgs.join(' ')} exited (${code}) before ready`))
    }
    child.once('exit', onExit)
  })
  return child
}

/**
 * Polls `GET /` on `port` until a server answers (connection refused: try again 1 ms
 * later) and resolves once the first response body has arrived. Throws after `timeoutMs`,
 * or at once when `child` (the server) has exited.
 */
export async function untilFirstResponse(
  port: number,
  timeoutMs: number,
  child?: ChildProcess
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      await response.arrayBuffer()
      return
    } catch (error) {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before answering`)
      }
      if (performance.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
  }
}

/** Stops a child process and waits for it to exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

let loader: ChildProcess | undefined

/** The long-lived load generator (./loader.ts) on core 1, started on first use. */
function loadGenerator(): ChildProcess {
  if (loader === undefined || loader.exitCode !== null || loader.signalCode !== null) {
    const [command, commandArgs] = pinned(1, node, [`${root}bench/http/loader.ts`])
    loader = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    // Idle, it must not keep the benchmark alive; load() holds it while a run is on.
    loader.unref()
    loader.channel?.unref()
  }
  return loader
}

/** Loads one route with autocannon (in the load generator, core 1) for `seconds`. */
export async function load(
  port: number,
  route: Route,
  seconds: number,
  connections: number
): Promise<LoadReply> {
  const generator = loadGenerator()
  const request: LoadRequest = {
    url: `http://127.0.0.1:${port}${route.path}`,
    connections,
    duration: seconds,
    ...('method' in route
      ? { method: route.method, headers: { 'content-type': 'application/json' }, body: route.body }
      : {}),
  }
  generator.channel?.ref()
  try {
    return await new Promise<LoadReply>((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the load generator exited (${code})`))
      generator.once('exit', onExit)
      generator.once('message', (reply) => {
        generator.off('exit', onExit)
        resolve(reply as LoadReply)
      })
      generator.send(request)
    })
  } finally {
    generator.channel?.unref()
  }
}

let nextPort = 19_100
/** A fresh port per server start, so that a lingering socket cannot answer for another. */
export const freshPort = () => ++nextPort

/**
 * Runs `servers` round by round and returns one sample per (round, server, route). Each
 * round starts every server afresh, then for each route loads them one after the other
 * (A B C D), so that the samples paired in a ratio are seconds apart, not minutes: on a
 * shared 2-core machine the available CPU drifts within a minute. A server whose answers
 * are errors is reported, not hidden.
 */
export async function runHttpBench(
  servers: readonly BenchServer[],
  options: HttpBenchOptions
): Promise<Sample[]> {
  const samples: Sample[] = []
  const counting = perfAvailable()
  for (let round = 1; round <= options.rounds; round++) {
    const running: { server: BenchServer; port: number; process: RunningServer }[] = []
    try {
      for (const server of servers) {
        const port = freshPort()
        running.push({ server, port, process: await server.start(port) })
      }
      for (const route of ROUTES) {
        for (const {
          server,
          port,
          process: { pid },
        } of running) {
          await load(port, route, options.warmup, options.connections)
          const instructions = counting ? startInstructionCount(pid) : undefined
          const cpuBefore = serverCpuSeconds(pid)
          const result = await load(port, route, options.duration, options.connections)
          const cpu = serverCpuSeconds(pid) - cpuBefore
          const counted = await instructions?.stop()
          const sample: Sample = {
            round,
            runtime: server.runtime,
            server: server.name,
            route: route.name,
            requestsPerSecond: result.rps,
            p99Ms: result.p99,
            cpuMicrosPerRequest: (cpu / result.requests) * 1e6,
            instructionsPerRequest:
              counted === undefined ? undefined : counted / Math.max(1, result.requests),
            rssMiB: rssMiB(pid),
            errors: result.errors,
          }
          samples.push(sample)
          process.stderr.write(
            `${server.runtime} round ${round} ${server.name.padEnd(8)} ${route.name.padEnd(14)} ` +
              `${Math.round(result.rps)} req/s, ${sample.cpuMicrosPerRequest.toFixed(1)} µs CPU/req` +
              `${result.errors ? `, ${result.errors} errors` : ''}\n`
          )
        }
      }
    } finally {
      for (const { process: server } of running) await server.stop()
    }
  }
  return samples
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runtime: { type: 'string', default: 'node' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '64' },
    },
  })
  const samples = await runHttpBench(serversOf(values.runtime as Runtime), {
    rounds: Number(values.rounds),
    duration: Number(values.duration),
    warmup: Number(values.warmup),
    connections: Number(values.connections),
  })
  removeBenchDirs()
  console.log(JSON.stringify(samples, null, 2))
}
