/**
 * The benchmark's processes: spawning servers pinned to core 0, waiting for them, stopping
 * them, and reading their CPU time and memory from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

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

let nextPort = 19_100
/** A fresh port per server start, so that a lingering socket cannot answer for another. */
export const freshPort = () => ++nextPort
