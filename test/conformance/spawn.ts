/**
 * The example's server processes, started as the README starts them, through
 * edgeio/testing's process runner (the same one `describeRuntimes` uses).
 */
import { fileURLToPath } from 'node:url'
import { type ServerProcess, spawnServer } from '../../testing/index.ts'

export { type ServerProcess, spawnServer }

/** The repository's root: where test processes run. */
export const root = fileURLToPath(new URL('../../', import.meta.url))
const bin = (name: string) => `${root}node_modules/.bin/${name}`

/** The example's entries for the process runtimes (they print `listening on <url>`). */
export const ENTRIES = { deno: 'examples/deno/main.ts', bun: 'examples/bun/index.ts' } as const

/** Deno's flags as the README gives them: no network for modules, net/env/read allowed. */
export const DENO_FLAGS = ['--cached-only', '--allow-net', '--allow-env', '--allow-read'] as const

/** The command that runs `entry` (relative to the root) on a process runtime. */
export function runtimeCommand(
  runtime: 'node' | 'deno' | 'bun',
  entry: string
): [command: string, ...args: string[]] {
  if (runtime === 'deno') return [bin('deno'), 'run', ...DENO_FLAGS, entry]
  return [bin(runtime), entry]
}

/** The commands that serve the example app on each runtime, as the README gives them. */
const commands = {
  node: runtimeCommand('node', 'examples/node/index.ts'),
  deno: runtimeCommand('deno', ENTRIES.deno),
  bun: runtimeCommand('bun', ENTRIES.bun),
}

/** Starts the example on an ephemeral port and resolves once it printed its URL. */
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
