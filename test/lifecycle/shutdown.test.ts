import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { serve } from '../../adapters/node/index.ts'
import { Broadcast, Service } from '../../src/index.ts'
import type { Listener } from '../../src/internal.ts'
import {
  gracefulShutdown,
  InFlight,
  onTermination,
  type Runtime,
  ServerScope,
  WaitUntilTracker,
} from '../../src/internal.ts'

afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

function setup() {
  const events: string[] = []
  const service = new Service(new Hono())
  service.onShutdown(() => void events.push('shutdown hooks'))
  service.onCleanup(() => void events.push('cleanup hooks'))
  const closed = Promise.withResolvers<void>()
  const listener: Listener = {
    close: () => {
      events.push('stop accepting')
      return closed.promise
    },
    abort: () => {
      events.push('abort in-flight')
      closed.resolve()
    },
  }
  return {
    events,
    service,
    listener,
    closed,
    scope: new ServerScope({ name: 'fake' } as Runtime),
    requests: new InFlight(),
    waitUntil: new WaitUntilTracker(),
  }
}

describe('gracefulShutdown', () => {
  test('stops accepting, runs shutdown hooks, drains requests then waitUntil, then cleans up', async () => {
    const { events, service, listener, closed, scope, requests, waitUntil } = setup()
    await service.startup()
    const handler = Promise.withResolvers<Response>()
    requests.track(handler.promise)
    const job = Promise.withResolvers<void>()
    waitUntil.waitUntil(job.promise.then(() => void events.push('waitUntil work')))

    const done = gracefulShutdown({
      service,
      listener,
      scope,
      requests,
      waitUntil,
      timeout: 60_000,
    })
    await vi.waitFor(() => expect(events).toEqual(['stop accepting', 'shutdown hooks']))
    closed.resolve()
    handler.resolve(new Response('late'))
    await handler.promise
    events.push('handler finished')
    job.resolve()
    await done
    expect(events).toEqual([
      'stop accepting',
      'shutdown hooks',
      'handler finished',
      'waitUntil work',
      'cleanup hooks',
    ])
  })

  test('aborts what is still in flight once the timeout has passed', async () => {
    vi.useFakeTimers()
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { events, service, listener, scope, requests, waitUntil } = setup()
    await service.startup()
    const done = gracefulShutdown({ service, listener, scope, requests, waitUntil, timeout: 5_000 })
    await vi.advanceTimersByTimeAsync(4_999)
    expect(events).not.toContain('abort in-flight')
    await vi.advanceTimersByTimeAsync(1)
    await done
    expect(events).toEqual(['stop accepting', 'shutdown hooks', 'abort in-flight', 'cleanup hooks'])
    expect(console.warn).toHaveBeenCalledWith(
      'edgeio: requests still in flight after 5000 ms; aborting them'
    )
  })

  test('waitUntil work that outlives the timeout is abandoned with a warning', async () => {
    vi.useFakeTimers()
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { events, service, listener, closed, scope, requests, waitUntil } = setup()
    closed.resolve()
    await service.startup()
    waitUntil.waitUntil(new Promise(() => {}))
    const done = gracefulShutdown({ service, listener, scope, requests, waitUntil, timeout: 1_000 })
    await vi.advanceTimersByTimeAsync(1_000)
    await done
    expect(events.at(-1)).toBe('cleanup hooks')
    expect(console.warn).toHaveBeenCalledWith(
      'edgeio: 1 waitUntil task(s) unfinished after 1000 ms'
    )
  })
})

describe('gracefulShutdown of a server', () => {
  test('ends an open server-sent-events stream at once instead of waiting for the timeout', async () => {
    const warn = vi.spyOn(console, 'warn')
    const ticks = new Broadcast<number>()
    const app = new Hono().get('/events', (c) =>
      streamSSE(c, async (sse) => {
        const subscription = ticks.subscribe(c)
        await sse.writeSSE({ data: 'subscribed' })
        for await (const tick of subscription) await sse.writeSSE({ data: String(tick) })
      })
    )
    // Far longer than the test may run: close() can only finish in time if the stream ends.
    const server = await serve(new Service(app), {
      port: 0,
      signals: false,
      shutdownTimeout: 60_000,
    })
    const res = await fetch(`${server.url}/events`)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let received = ''
    while (!received.includes('data: subscribed\n\n')) received += (await reader.read()).value
    ticks.publish(1)
    const closed = server.close()
    // The client reads what was sent, then the end of the body (a cut stream would throw).
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      received += chunk.value
    }
    expect(received).toBe('data: subscribed\n\ndata: 1\n\n')
    await closed
    expect(ticks.size).toBe(0)
    expect(warn).not.toHaveBeenCalled()
  })
})

describe('onTermination', () => {
  test('the first signal shuts down then exits 0; a second one exits 1 at once', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const exits: number[] = []
    const shutdown = Promise.withResolvers<void>()
    const terminate = onTermination(
      () => shutdown.promise,
      (code) => exits.push(code)
    )
    terminate()
    expect(exits).toEqual([])
    terminate()
    expect(exits).toEqual([1])
    shutdown.resolve()
    await vi.waitFor(() => expect(exits).toEqual([1, 0]))
  })

  test('a failed shutdown exits 1', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const exits: number[] = []
    onTermination(
      () => Promise.reject(new Error('cleanup failed')),
      (code) => exits.push(code)
    )()
    await vi.waitFor(() => expect(exits).toEqual([1]))
  })
})
