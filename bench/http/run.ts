/**
 * HTTP benchmark: servers answering the same three routes are loaded by autocannon from a
 * second process, alternating (A B C D A B C D …) route by route within each round. Each server's CPU time per
 * request is read from /proc, which is steadier than req/s on a 2-core machine where the
 * load generator competes. The servers of each runtime are in ./servers.ts.
 *
 *   node bench/http/run.ts [--runtime node|deno|workerd] [--rounds 3] [--duration 5]
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { perfAvailable, startInstructionCount } from '../perf.ts'
import type { LoadReply, LoadRequest } from './loader.ts'
import { freshPort, node, pinned, rssMiB, serverCpuSeconds } from './process.ts'
import { type BenchServer, type RunningServer, type Runtime, serversOf } from './servers.ts'
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
