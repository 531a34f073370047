/**
 * `npm test` needs a real `redis-server` (Debian's package): the Redis backend of the
 * distributed pieces is tested against it. Installs it with apt-get when it is missing, and
 * fails loudly, saying why, when it cannot (no root, no apt, no network to Debian's mirror).
 * The tests start their own servers on ephemeral loopback ports (test/redis/server.ts); the
 * package's own service, if apt starts one, is left alone.
 *
 *   node scripts/ensure-redis.ts
 */
import { execFileSync, spawnSync } from 'node:child_process'

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

function version(): string {
  return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim()
}

if (has('redis-server')) {
  console.log(`redis-server present: ${version()}`)
} else {
  if (!has('apt-get')) {
    console.error('edgeio tests need redis-server, and this machine has no apt-get to install it')
    process.exit(1)
  }
  const root = process.getuid?.() === 0
  const sudo = root ? [] : ['sudo', '-n']
  if (!root && !has('sudo')) {
    console.error('edgeio tests need redis-server: run `apt-get install -y redis-server` as root')
    process.exit(1)
  }
  console.log('redis-server missing: installing it with apt-get (Debian package redis-server)')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [
    ['apt-get', 'update', '-qq'],
    ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'redis-server'],
  ]) {
    const [command, ...rest] = [...sudo, ...args] as [string, ...string[]]
    const run = spawnSync(command, rest, { stdio: 'inherit', env })
    if (run.status !== 0) {
      console.error(`edgeio tests need redis-server, and \`${args.join(' ')}\` failed`)
      process.exit(1)
    }
  }
  if (!has('redis-server')) {
    console.error('apt-get reported success but redis-server is not on PATH')
    process.exit(1)
  }
  console.log(`installed: ${version()}`)
}
