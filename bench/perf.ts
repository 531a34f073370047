/**
 * User-space instruction counts from `perf stat -e instructions:u`: far steadier than CPU
 * time on a shared 2-core machine, since a count does not change when the core is slowed
 * by a neighbour. Many VMs expose no hardware counters (perf says `<not supported>`); then
 * the benchmarks report CPU time only and say why.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'

let available: boolean | undefined

/** Whether `perf stat -e instructions:u` counts on this machine (checked once). */
export function perfAvailable(): boolean {
  available ??= (() => {
    // perf writes its counts to stderr, `<not supported>` where there are no counters.
    const result = spawnSync('perf', ['stat', '-x', ',', '-e', 'instructions:u', 'true'], {
      encoding: 'utf8',
    })
    return result.status === 0 && parseCount(result.stderr) !== undefined
  })()
  return available
}

/** Why perf cannot count here, for the report (undefined when it can). */
export function perfUnavailableReason(): string | undefined {
  if (perfAvailable()) return undefined
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' })
    return 'perf is installed but this machine exposes no hardware counters (instructions:u <not supported>, as in most VMs)'
  } catch {
    return 'perf is not installed'
  }
}

/** The instructions:u count in `perf stat -x ,` output, if it holds one. */
export function parseCount(output: string): number | undefined {
  for (const line of output.split('\n')) {
    const [value, , event] = line.split(',')
    if (event?.startsWith('instructions') && value !== undefined && /^\d+$/.test(value)) {
      return Number(value)
    }
  }
  return undefined
}

/**
 * Starts counting the user-space instructions of process `pid` (all its threads); `stop()`
 * ends the count and resolves to it (undefined if perf reported none).
 */
export function startInstructionCount(pid: number): { stop(): Promise<number | undefined> } {
  const child = spawn('perf', ['stat', '-x', ',', '-e', 'instructions:u', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  child.stderr.on('data', (chunk) => {
    err += chunk
  })
  return {
    async stop() {
      const exited = once(child, 'exit')
      child.kill('SIGINT')
      await exited
      return parseCount(err)
    },
  }
}
