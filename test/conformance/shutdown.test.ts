import { connect } from 'node:net'
import { describe, expect, test } from 'vitest'
import { eventually } from './client.ts'
import { type ServerProcess, startServer } from './spawn.ts'

/** Resolves when a fresh TCP connection to the server is refused. */
function refused(url: string): Promise<void> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    socket.on('connect', () => {
      socket.destroy()
      reject(new Error('the server still accepts connections'))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve()
      else reject(error)
    })
  })
}

/** Opens a long-poll and returns (wrapped, so it is not awaited) once the server holds it. */
async function waitingLongPoll(server: ServerProcess, id: string, ms: number) {
  const response = fetch(`${server.url}/long-poll/${id}?ms=${ms}`)
  response.catch(() => {}) // some tests expect it to fail; they await it themselves
  await eventually(async () => {
    const state = await fetch(`${server.url}/long-poll/${id}/state`)
    expect(await state.json()).toEqual({ state: 'waiting' })
  })
  return { response }
}

describe.each(['node', 'deno', 'bun'] as const)('graceful shutdown [%s]', (runtime) => {
  test('SIGTERM drains in-flight requests and waitUntil work, runs cleanup, exits 0', async () => {
    const server = await startServer(runtime, {})
    const inFlight = await Promise.all(
      [1, 2, 3].map((i) => waitingLongPoll(server, `drain-${i}`, 1_500))
    )
    const job = (await (await fetch(`${server.url}/jobs?ms=800`, { method: 'POST' })).json()) as {
      id: string
    }

    server.child.kill('SIGTERM')
    await eventually(() => refused(server.url))
    for (const { response } of inFlight) {
      const res = await response
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('answered')
    }
    expect(await server.exited).toBe(0)
    const out = server.stdout()
    const jobDone = out.indexOf(`example: job ${job.id} done`)
    expect(jobDone).toBeGreaterThan(-1)
    expect(out.indexOf('example: cleanup complete')).toBeGreaterThan(jobDone)
  })

  test('open WebSockets are closed with 1001 (going away), then the process exits 0', async () => {
    const server = await startServer(runtime, {})
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws/echo`)
    await new Promise((resolve) => socket.addEventListener('open', resolve, { once: true }))
    const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener('close', resolve))
    server.child.kill('SIGTERM')
    const event = await closed
    expect(event.code).toBe(1001)
    expect(event.reason).toMatch(/shutting down/i) // Deno's shutdown() says it first, capitalised
    expect(await server.exited).toBe(0)
  })

  test('an open server-sent-events stream ends at once, without waiting for the timeout', async () => {
    // Longer than the test may run: the process can only exit in time if the stream ends.
    const server = await startServer(runtime, { SHUTDOWN_TIMEOUT_MS: '60000' })
    const res = await fetch(`${server.url}/events/counter`)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let received = ''
    // The route subscribes before it sends the first event.
    while (!received.includes('event: count')) received += (await reader.read()).value
    server.child.kill('SIGTERM')
    // The end of the body, not a cut connection (reading that would throw).
    while (!(await reader.read()).done) {}
    expect(await server.exited).toBe(0)
    expect(server.stderr()).not.toMatch(/still in flight/)
    expect(server.stdout()).toMatch(/example: cleanup complete/)
  })

  test('requests still running at shutdownTimeout are aborted through their signals', async () => {
    const server = await startServer(runtime, { SHUTDOWN_TIMEOUT_MS: '300' })
    const stuck = await waitingLongPoll(server, 'stuck', 20_000)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.stderr()).toMatch(/requests still in flight after 300 ms; aborting them/)
    expect(server.stdout()).toMatch(/example: long-poll stuck aborted[\s\S]*cleanup complete/)
    // Node drops the connection; Deno lets the aborted handler answer.
    const outcome = await stuck.response.then(
      (res) => res.status,
      () => 'connection closed'
    )
    expect([204, 'connection closed']).toContain(outcome)
  })

  test('a second signal during shutdown exits at once with code 1', async () => {
    const server = await startServer(runtime, { SHUTDOWN_TIMEOUT_MS: '20000' })
    await waitingLongPoll(server, 'held', 20_000)
    server.child.kill('SIGTERM')
    await eventually(() => refused(server.url))
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(1)
    expect(server.stderr()).toMatch(/second signal during shutdown/)
    expect(server.stdout()).not.toMatch(/cleanup complete/)
  })
})
