/**
 * A Redis server owned by one test file: Debian's `redis-server` (installed by
 * scripts/ensure-redis.ts in `npm test`) on an ephemeral loopback port, in its own temporary
 * directory, stopped by the test. Faults are real: `kill()` is SIGKILL, `pause()` SIGSTOP.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../fixtures/ports.ts'

/**
 * What every test-owned redis-server is started with: loopback only, its own directory, no
 * RDB snapshots, warnings only in the log (the part a failed start prints).
 */
export function redisServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--loglevel',
    'warning',
  ]
}

export interface RedisServerOptions {
  /**
   * Append-only file on (`appendfsync always`), so that data (fencing tokens) survives a
   * restart. Default off: nothing is written to disk.
   */
  persistent?: boolean
}

export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** The running process's pid (changes on restart). */
  readonly pid: number
  /** SIGKILL: no goodbye to clients, nothing flushed beyond what the AOF already has. */
  kill(): Promise<void>
  /** SIGSTOP: connections stay open, nothing answers. */
  pause(): void
  /** SIGCONT after {@link pause}. */
  resume(): void
  /** Starts the server again on the same port and directory (after {@link kill}). */
  restart(): Promise<void>
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>
}

/** Resolves once the server answers PING on `port`, or rejects after `timeoutMs`. */
async function answersPing(
  port: number,
  failure: () => Error | undefined,
  timeoutMs = 10_000
): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const failed = failure()
    if (failed) throw failed
    const pong = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.setTimeout(500)
      socket.once('error', () => resolve(false))
      socket.once('timeout', () => {
        socket.destroy()
        resolve(false)
      })
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
      socket.once('data', (data) => {
        socket.destroy()
        resolve(data.toString().startsWith('+PONG'))
      })
    })
    if (pong) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`)
}

/**
 * Starts a Redis server for this test file.
 *
 * @example
 * ```ts
 * let redis: RedisServer
 * beforeAll(async () => { redis = await startRedis() })
 * afterAll(() => redis.stop())
 * ```
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeio-redis-'))
  let port = 0
  let child: ChildProcess | undefined
  let stopped = false
  let paused = false

  async function launch(): Promise<void> {
    const args = [
      ...redisServerArgs(port, dir),
      '--appendonly',
      options.persistent ? 'yes' : 'no',
      '--appendfsync',
      'always',
    ]
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    started.stdout?.on('data', (chunk) => {
      output += chunk
    })
    started.stderr?.on('data', (chunk) => {
      output += chunk
    })
    let spawnError: Error | undefined
    started.once('error', (error) => {
      spawnError = error
    })
    child = started
    const failure = () =>
      spawnError ??
      (started.exitCode !== null
        ? new Error(`redis-server exited with ${started.exitCode}`)
        : undefined)
    try {
      await answersPing(port, failure)
    } catch (error) {
      started.kill('SIGKILL')
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error
      throw new Error(`${(error as Error).message}\n${output}`)
    }
  }

  // A port found free can be taken before redis-server binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    try {
      await launch()
      break
    } catch (error) {
      if (attempt >= 4 || (error as NodeJS.ErrnoException).code === 'ENOENT') {
        rmSync(dir, { recursive: true, force: true })
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Error('redis-server is not installed: run `node scripts/ensure-redis.ts`')
        }
        throw error
      }
    }
  }

  async function killWith(signal: NodeJS.Signals): Promise<void> {
    const running = child
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    // Only when paused: Deno's node:child_process takes any signal sent as the end of the
    // process (`killed`, `signalCode` set) and then sends no other.
    if (paused) running.kill('SIGCONT')
    paused = false
    running.kill(signal)
    await exited
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1
    },
    kill: () => killWith('SIGKILL'),
    pause() {
      paused = true
      child?.kill('SIGSTOP')
    },
    resume() {
      paused = false
      child?.kill('SIGCONT')
    },
    async restart() {
      await killWith('SIGKILL')
      await launch()
    },
    async stop() {
      if (stopped) return
      stopped = true
      await killWith('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
