/**
 * Per-request CPU cost of each middleware on Node, without the network: requests are fed to
 * edgeio's Node adapter (the real @hono/node-server listener and Service) as in-memory
 * request/response objects, 64 in flight, in one process per (configuration, round),
 * configurations alternating. What it leaves out (the socket and HTTP parser) is the same for
 * every configuration, so the differences are the middleware's; the figures are far less
 * noisy on a shared machine than the HTTP benchmark's.
 *
 *   node bench/middleware/inprocess.ts [--rounds 5] [--requests 200000]
 */
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { serve } from '../../adapters/node/index.ts'
import { Service } from '../../src/index.ts'
import { median } from '../stats.ts'
import { benchApp } from './apps.ts'
import { CONFIGS } from './run.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '200000' },
    child: { type: 'string' },
  },
})
const REQUESTS = Number(values.requests)
const IN_FLIGHT = 64

/** A stand-in for http.IncomingMessage with what @hono/node-server reads from a GET. */
function incoming(): object {
  return {
    method: 'GET',
    url: '/',
    headers: { host: 'localhost', accept: '*/*' },
    rawHeaders: ['host', 'localhost', 'accept', '*/*'],
    socket: { encrypted: false, remoteAddress: '127.0.0.1' },
    readableEnded: true,
    complete: true,
    errored: null,
    destroyed: false,
  }
}

/** A stand-in for http.ServerResponse that calls `done` when the response is ended. */
class Outgoing {
  writableFinished = false
  headersSent = false
  writable = true
  _contentLength: number | null | undefined = undefined
  readonly #closers: (() => void)[] = []
  readonly #done: () => void

  constructor(done: () => void) {
    this.#done = done
  }

  writeHead(_status: number, _headers?: unknown): this {
    this.headersSent = true
    return this
  }

  hasHeader(): boolean {
    return false
  }

  write(): boolean {
    return true
  }

  end(_body?: unknown): void {
    this.writableFinished = true
    for (const close of this.#closers) close()
    // Like the next request of a socket: not inside this one's call stack.
    queueMicrotask(this.#done)
  }

  on(event: string, fn: () => void): this {
    if (event === 'close') this.#closers.push(fn)
    return this
  }

  once(event: string, fn: () => void): this {
    return this.on(event, fn)
  }

  off(): this {
    return this
  }
}

async function child(config: string): Promise<number> {
  const server = await serve(new Service(benchApp(config)), { port: 0 })
  const emit = (done: () => void) => server.server.emit('request', incoming(), new Outgoing(done))
  const batch = (n: number) =>
    new Promise<void>((resolve) => {
      let started = 0
      let finished = 0
      const next = (): void => {
        if (++finished === n) resolve()
        else if (started < n) {
          started++
          emit(next)
        }
      }
      for (; started < Math.min(IN_FLIGHT, n); ) {
        started++
        emit(next)
      }
    })
  await batch(REQUESTS / 4) // warm-up
  const t0 = process.cpuUsage()
  await batch(REQUESTS)
  const t = process.cpuUsage(t0)
  server.server.close()
  return ((t.user + t.system) * 1000) / REQUESTS // ns per request
}

if (values.child !== undefined) {
  console.log(JSON.stringify(await child(values.child)))
  process.exit(0)
}

const samples = new Map<string, number[]>(CONFIGS.map((c) => [c, []]))
for (let round = 0; round < Number(values.rounds); round++) {
  for (const config of CONFIGS) {
    const out = execFileSync(
      process.execPath,
      [process.argv[1] as string, '--requests', String(REQUESTS), '--child', config],
      { encoding: 'utf8' }
    )
    ;(samples.get(config) as number[]).push(JSON.parse(out) as number)
  }
  process.stderr.write(`round ${round + 1} done\n`)
}
const bare = samples.get('none') as number[]
const noop = samples.get('noop') as number[]
const rel = (xs: number[], base: number[]) =>
  `${(median(xs.map((x, i) => x / (base[i] as number) - 1)) * 100).toFixed(1)} %`
console.log('| middleware | CPU ns/req (median) | vs bare | vs noop |')
console.log('| --- | ---: | ---: | ---: |')
for (const [config, xs] of samples) {
  console.log(
    `| ${config} | ${median(xs).toFixed(0)} | ${config === 'none' ? '—' : rel(xs, bare)} | ${
      config === 'none' || config === 'noop' ? '—' : rel(xs, noop)
    } |`
  )
}
