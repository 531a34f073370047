import { Hono } from 'hono'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { Service } from '../../src/index.ts'
import type { Listener } from '../../src/internal.ts'
import { gracefulShutdown, InFlight, onTermination, WaitUntilTracker } from '../../src/internal.ts'

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
    requests: new InFlight(),
    waitUntil: new WaitUntilTracker(),
  }
}

describe('gracefulShutdown', () => {
  test('stops accepting, runs shutdown hooks, drains requests then waitUntil, then cleans up', async () => {
    const { events, service, listener, closed, requests, waitUntil } = setup()
    await service.startup()
    const handler = Promise.withResolvers<Response>()
    requests.track(handler.promise)
    const job = Promise.withResolvers<void>()
    waitUntil.waitUntil(job.promise.then(() => void events.push('waitUntil work')))

    const done = gracefulShutdown({ service, listener, requests, waitUntil, timeout: 60_000 })
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
    const { events, service, listener, requests, waitUntil } = setup()
    await service.startup()
    const done = gracefulShutdown({ service, listener, requests, waitUntil, timeout: 5_000 })
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
    const { events, service, listener, closed, requests, waitUntil } = setup()
    closed.resolve()
    await service.startup()
    waitUntil.waitUntil(new Promise(() => {}))
    const done = gracefulShutdown({ service, listener, requests, waitUntil, timeout: 1_000 })
    await vi.advanceTimersByTimeAsync(1_000)
    await done
    expect(events.at(-1)).toBe('cleanup hooks')
    expect(console.warn).toHaveBeenCalledWith(
      'edgeio: 1 waitUntil task(s) unfinished after 1000 ms'
    )
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
