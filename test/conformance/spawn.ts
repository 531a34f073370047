import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = (name: string) => `${root}node_modules/.bin/${name}`

/** A server process running one of the example entry points. */
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

/** The commands that serve the example app on each runtime, as the README gives them. */
const commands = {
  node: [bin('node'), 'examples/node/index.ts'],
  deno: [
    bin('deno'),
    'run',
    '--cached-only',
    '--allow-net',
    '--allow-env',
    '--allow-read',
    'examples/deno/main.ts',
  ],
  bun: [bin('bun'), 'examples/bun/index.ts'],
} as const

/**
 * Starts the example on an ephemeral port and resolves once it printed its URL. Nothing it
 * runs may reach the network: Deno's update check and prompts are switched off.
 */
export function startServer(
  runtime: keyof typeof commands,
  env: Record<string, string>
): Promise<ServerProcess> {
  const [command, ...args] = commands[runtime]
  return spawnServer(command, args, {
    cwd: root,
    env: { PORT: '0', LOG_LEVEL: 'silent', ...env },
  })
}

/**
 * Runs a server command and resolves once it printed `listening on <url>`; rejects with
 * everything it printed if it exits first. Deno's update check and prompts are off.
 */
export async function spawnServer(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> }
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
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | null)
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1]) {
        child.stdout.off('data', onData)
        resolve(match[1])
      }
    }
    child.stdout.on('data', onData)
    exited.then((code) =>
      reject(
        new Error(
          `${[command, ...args].join(' ')} exited (${code}) before listening:\n${out}${err}`
        )
      )
    )
  })
  return { child, url, stdout: () => out, stderr: () => err, exited }
}
