/**
 * The example as a fleet on Redis (`REDIS_URL`): a Node process and a Deno process on one
 * Redis server, each run as the README says. The queue and distributed cases run through
 * each of them (`node+redis`, `deno+redis`), then the fleet cases with requests spread over
 * both: one lock, one rate limit, one job queue and one session store for the two.
 */
import { afterAll, beforeAll, describe, test } from 'vitest'
import { type RedisServer, startRedis } from '../redis/server.ts'
import { type ConformanceCase, describeConformance } from './cases.ts'
import { type Client, httpClient, type Runtime, SESSION_SECRET } from './client.ts'
import { distributedCases } from './distributed-cases.ts'
import { closedPort, type EchoServer, startEchoServer } from './echo-server.ts'
import { fleetCases } from './fleet-cases.ts'
import { queueCases } from './queue-cases.ts'
import { type ServerProcess, startServer } from './spawn.ts'

const TOKEN = 'redis-conformance-token'
const REDIS_CASES: readonly ConformanceCase[] = [...queueCases, ...distributedCases]

let redis: RedisServer
let echo: EchoServer
const servers: Partial<Record<'node' | 'deno', ServerProcess>> = {}

function clientOf(runtime: 'node' | 'deno'): Client {
  return httpClient(
    runtime satisfies Runtime,
    TOKEN,
    () => (servers[runtime] as ServerProcess).url,
    () => echo,
    () => {
      // The `/client` cases are not among REDIS_CASES; nothing here reads an upstream.
      throw new Error('the redis runner starts no upstream (UPSTREAM_URL)')
    }
  )
}

beforeAll(async () => {
  ;[redis, echo] = await Promise.all([startRedis(), startEchoServer()])
  const env = {
    API_TOKEN: TOKEN,
    REDIS_URL: redis.url,
    ECHO_PORT: String(await closedPort()),
    ECHO_FALLBACK_PORT: String(echo.port),
    ECHO_TLS_PORT: String(echo.tlsPort),
    SESSION_SECRET,
    DENO_CERT: echo.certificates.caPath,
  }
  const [node, deno] = await Promise.all([startServer('node', env), startServer('deno', env)])
  servers.node = node
  servers.deno = deno
}, 60_000)

afterAll(async () => {
  for (const server of Object.values(servers)) server?.child.kill('SIGTERM')
  await Promise.all(Object.values(servers).map((server) => server?.exited))
  echo?.close()
  await redis?.stop()
})

describeConformance(clientOf('node'), { label: 'node+redis', cases: REDIS_CASES })
describeConformance(clientOf('deno'), { label: 'deno+redis', cases: REDIS_CASES })

describe('conformance [fleet+redis]', () => {
  for (const c of fleetCases) {
    test(c.name, () => c.run(clientOf('node'), clientOf('deno')), c.timeoutMs)
  }
})
