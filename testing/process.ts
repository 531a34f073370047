/**
 * A runtime in its own process (Deno, Bun, or any command): started with `PORT=0`, ready
 * once it prints `listening on <url>`, stopped with SIGTERM so its graceful shutdown runs.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'

/** A server process and what it printed. */
export interface ServerProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything the process printed on stdout so far. */
  stdout(): string
  /** Everything the process printed on stderr so far. */
  stderr(): string
  /** Resolves with the exit code (or the signal) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>
}

export interface SpawnServerOptions {
  cwd: string
  env?: Record<string, string>
  /** Rejects (and kills the process) if it does not listen within this time: 60 s. */
  startTimeoutMs?: number
}

/**
 * Runs a server command and resolves once it printed `listening on <url>`; rejects with
 * everything it printed if it exits first or stays silent past `startTimeoutMs`. Nothing it
 * runs may reach the network for updates: Deno's update check and prompts are off.
 *
 * @example
 * const server = await spawnServer('deno', ['run', '-A', 'main.ts'], { cwd: process.cwd() })
 * await fetch(server.url)
 * await stopServer(server)
 */
export async function spawnServer(
  command: string,
  args: readonly string[],
  options: SpawnServerOptions
): Promise<ServerProcess> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: {
      ...process.env,
      DENO_NO_UPDATE_CHECK: '1',
      DENO_NO_PROMPT: '1',
      NO_COLOR: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | null)
  const startTimeoutMs = options.startTimeoutMs ?? 60_000
  let timer: ReturnType<typeof setTimeout> | undefined
  const url = await new Promise<string>((resolve, reject) => {
    const described = [command, ...args].join(' ')
    const onData = () => {
      const match = /listening on (https?:\/\/\S+)/.exec(out)
      if (match?.[1]) {
        child.stdout?.off('data', onData)
        resolve(match[1])
      }
    }
    child.stdout?.on('data', onData)
    child.once('error', (error) => reject(new Error(`${described} could not start: ${error}`)))
    exited.then((code) =>
      reject(new Error(`${described} exited (${code}) before listening:\n${out}${err}`))
    )
    timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${described} did not listen within ${startTimeoutMs} ms:\n${out}${err}`))
    }, startTimeoutMs)
  }).finally(() => clearTimeout(timer))
  return { child, url, stdout: () => out, stderr: () => err, exited }
}

/**
 * Sends SIGTERM and waits for the exit; a process still running after `timeoutMs` is killed
 * and the call rejects, since a service that ignores SIGTERM is a bug worth a red test.
 */
export async function stopServer(server: ServerProcess, timeoutMs = 15_000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGTERM')
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs)
  })
  const outcome = await Promise.race([server.exited, late]).finally(() => clearTimeout(timer))
  if (outcome === 'late') {
    server.child.kill('SIGKILL')
    await server.exited
    throw new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM`)
  }
}
