/**
 * Two servers in one process, one shut down: its WebSockets get 1001 and its event streams
 * end, while the other server's sockets, streams (fed from the same Broadcast), in-flight
 * requests and waitUntil work carry on. The servers run in test/fixtures/two-servers.ts,
 * on Node, Deno and Bun.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, test } from 'vitest'
import { root, runtimeCommand } from './spawn.ts'

const fixture = 'test/fixtures/two-servers.ts'

const commands = {
  node: runtimeCommand('node', fixture),
  deno: runtimeCommand('deno', fixture),
  bun: runtimeCommand('bun', fixture),
}

interface TwoServers {
  readonly child: ChildProcess
  readonly a: string
  readonly b: string
  stdout(): string
  stderr(): string
  /** The exit code (or the signal) once the process has exited. */
  readonly exited: Promise<number | string | null>
}

/** Starts the fixture and resolves once it printed both URLs. */
async function start(runtime: keyof typeof commands): Promise<TwoServers> {
  const [command, ...args] = commands[runtime]
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
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
  const [, a = '', b = ''] = await new Promise<RegExpExecArray>((resolve, reject) => {
    const onData = () => {
      const match = /ready (http:\/\/\S+) (http:\/\/\S+)/.exec(out)
      if (match) {
        child.stdout.off('data', onData)
        resolve(match)
      }
    }
    child.stdout.on('data', onData)
    exited.then((code) =>
      reject(new Error(`${runtime} exited (${code}) before listening:\n${out}${err}`))
    )
  })
  return { child, a, b, stdout: () => out, stderr: () => err, exited }
}

/** A WebSocket to `/ws` of the server at `url`, once open. */
async function openSocket(url: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`)
  const closed = new Promise<CloseEvent>((resolve) =>
    ws.addEventListener('close', resolve, { once: true })
  )
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true })
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)), {
      once: true,
    })
  })
  return {
    closed,
    /** Sends `text`; resolves with the next message, rejects if the socket closes first. */
    echo: (text: string) =>
      new Promise<string>((resolve, reject) => {
        ws.addEventListener('message', (event) => resolve(String(event.data)), { once: true })
        closed.then((event) => reject(new Error(`socket closed (${event.code}) instead`)))
        ws.send(text)
      }),
  }
}

/** The event stream `/events` of the server at `url`, once subscribed. */
async function openEvents(url: string) {
  const res = await fetch(`${url}/events`)
  expect(res.status).toBe(200)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let received = ''
  const events = {
    /** Reads until `text` has arrived; rejects if the stream ends first. */
    async until(text: string): Promise<void> {
      while (!received.includes(text)) {
        const { done, value } = await reader.read()
        if (done) throw new Error(`the stream ended before ${JSON.stringify(text)}: ${received}`)
        received += value
      }
    },
    /** Resolves with everything received once the body ends; a cut connection rejects. */
    async end(): Promise<string> {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return received
        received += value
      }
    },
  }
  await events.until('event: ready')
  return events
}

/** `promise`, or a rejection saying what did not happen once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

async function publish(url: string, message: string): Promise<number> {
  const res = await fetch(`${url}/publish`, { method: 'POST', body: message })
  expect(res.status).toBe(200)
  return ((await res.json()) as { listeners: number }).listeners
}

let running: TwoServers | undefined
afterEach(() => {
  if (running?.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL')
  }
  running = undefined
})

describe.each(['node', 'deno', 'bun'] as const)('two servers in one process [%s]', (runtime) => {
  test("one server's shutdown leaves the other's sockets, streams and requests alone", async () => {
    const servers = await start(runtime)
    running = servers
    const { a, b } = servers

    const socketA = await openSocket(a)
    const socketB = await openSocket(b)
    expect(await socketA.echo('hello')).toBe('a: hello')
    expect(await socketB.echo('hello')).toBe('b: hello')
    const eventsA = await openEvents(a)
    const eventsB = await openEvents(b)
    // One Broadcast feeds both servers' streams.
    expect(await publish(a, 'before')).toBe(2)
    await eventsA.until('data: before')
    await eventsB.until('data: before')
    // A request on A that ignores the shutdown (A's drain times out and aborts it), and one
    // on B in flight meanwhile, with waitUntil work lasting as long.
    const hang = fetch(`${a}/hang`).then(
      (res) => res.status,
      () => 'cut'
    )
    expect((await fetch(`${b}/arrived/hang`)).status).toBe(204)
    const slow = fetch(`${b}/slow`)
    slow.catch(() => {}) // awaited below; a failure must not surface as unhandled first
    expect((await fetch(`${b}/arrived/slow`)).status).toBe(204)

    const closeA = await fetch(`${b}/close-a`, { method: 'POST' })
    expect(closeA.status).toBe(200)
    // A's stream ended at the start of A's shutdown, before its forced abort, and not by
    // it: a stream A's goodbye missed would have ended with the abort.
    expect(await closeA.json()).toEqual({ log: ['a events ended', 'a hang aborted'] })

    // A said goodbye to its socket (1001) and its stream's body ended (rather than being cut).
    const closedA = await within(socketA.closed, 5_000, "A's WebSocket to close")
    expect({ code: closedA.code, reason: closedA.reason }).toEqual({
      code: 1001,
      reason: 'server shutting down',
    })
    expect(await within(eventsA.end(), 5_000, "A's event stream to end")).not.toContain(
      'data: after'
    )
    await hang
    await expect(fetch(a)).rejects.toThrow()

    // B's socket and stream are still open, its request still in flight and not aborted.
    expect(await socketB.echo('still there')).toBe('b: still there')
    expect(await publish(b, 'after')).toBe(1)
    await eventsB.until('data: after')
    expect((await fetch(`${b}/release`, { method: 'POST' })).status).toBe(204)
    const slowRes = await slow
    expect(slowRes.status).toBe(200)
    expect(await slowRes.json()).toEqual({ aborted: false })
    // A's shutdown warned about its own request only: it neither waited for B's request
    // ("ignored the abort") nor for B's waitUntil work ("unfinished").
    expect(servers.stderr().match(/edgeio: .*/g)).toEqual([
      'edgeio: requests still in flight after 1000 ms; aborting them',
    ])

    // B's own shutdown (when the fixture's stdin ends) closes B's socket and stream, and
    // then nothing is left to keep the process alive.
    servers.child.stdin!.end()
    const closedB = await within(socketB.closed, 5_000, "B's WebSocket to close")
    expect(closedB.code).toBe(1001)
    await within(eventsB.end(), 5_000, "B's event stream to end")
    expect(await within(servers.exited, 10_000, 'the process to exit')).toBe(0)
    expect(servers.stdout()).toContain(
      `closed ${JSON.stringify(['a events ended', 'a hang aborted', 'b events ended'])}`
    )
  })
})
