/**
 * A Redis Cluster owned by one test file: three masters (no replicas) from Debian's
 * `redis-server` on ephemeral loopback ports, each in its own temporary directory, joined and
 * given the 16 384 slots by `redis-cli --cluster create` (no network beyond loopback), then
 * waited for until every node reports `cluster_state:ok`. Stopped by the test.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePorts } from '../fixtures/ports.ts'
import { redisServerArgs } from './server.ts'

const run = promisify(execFile)

export interface ClusterNodeAddress {
  host: string
  port: number
}

export interface RedisCluster {
  /** The masters, in the order their slot ranges were assigned (0–5460, 5461–10922, …). */
  readonly nodes: readonly ClusterNodeAddress[]
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>
}

/** One command through `redis-cli` to the node on `port`; its reply as text. */
async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  })
  return stdout
}

/** Resolves once `check` does, trying every 50 ms up to `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > end) throw new Error(`Redis Cluster: ${what} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Starts a three-master Redis Cluster for this test file.
 *
 * @example
 * ```ts
 * let cluster: RedisCluster
 * beforeAll(async () => { cluster = await startRedisCluster() })
 * afterAll(() => cluster?.stop())
 * ```
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeio-redis-cluster-'))
  const children: ChildProcess[] = []
  let stopped = false

  async function stop(): Promise<void> {
    if (stopped) return
    stopped = true
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      })
    )
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    // A port found free can be taken before redis-server binds it: a node that exits at
    // start fails the whole start (the caller may try again).
    // Each node also listens on a cluster bus port, port + 10 000 unless told: an ephemeral
    // port above 55 535 would put it past 65 535, so the bus ports are chosen free too.
    const chosen = await freePorts(masters * 2)
    const ports = chosen.slice(0, masters)
    const busPorts = chosen.slice(masters)
    let output = ''
    for (const [index, port] of ports.entries()) {
      const child = spawn(
        'redis-server',
        [
          ...redisServerArgs(port, dir),
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPorts[index]),
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '5000',
          '--appendonly',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] }
      )
      child.stdout?.on('data', (chunk) => {
        output += chunk
      })
      child.stderr?.on('data', (chunk) => {
        output += chunk
      })
      children.push(child)
      const spawned = await Promise.race([
        once(child, 'spawn').then(() => undefined),
        once(child, 'error').then(([error]) => error as NodeJS.ErrnoException),
      ])
      if (spawned?.code === 'ENOENT') {
        throw new Error('redis-server is not installed: run `node scripts/ensure-redis.ts`')
      }
      if (spawned) throw spawned
    }
    const exited = () => children.find((c) => c.exitCode !== null)
    for (const port of ports) {
      await until(`node ${port} did not answer PING`, async () => {
        const dead = exited()
        if (dead) throw new Error(`redis-server exited with ${dead.exitCode}\n${output}`)
        return (await cli(port, 'PING')).trim() === 'PONG'
      })
    }
    // Joins the nodes (CLUSTER MEET) and spreads the slots (CLUSTER ADDSLOTS), no replicas.
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 }
    )
    for (const port of ports) {
      await until(`node ${port} did not reach cluster_state:ok`, async () => {
        const info = await cli(port, 'CLUSTER', 'INFO')
        return (
          info.includes('cluster_state:ok') &&
          info.includes(`cluster_known_nodes:${masters}`) &&
          info.includes('cluster_slots_ok:16384')
        )
      })
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop }
  } catch (error) {
    await stop()
    throw error
  }
}
