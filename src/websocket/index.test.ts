import { Hono } from 'hono'
import type { WSContext, WSEvents } from 'hono/ws'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { goAway } from '../lifecycle/go-away.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { SERVER_SCOPE, ServerScope } from '../runtime/server-scope.ts'
import { upgradeWebSocket } from './index.ts'

afterEach(() => {
  vi.useRealTimers()
})

/** A stand-in runtime whose WebSocket helper hands the (guarded) events to the test. */
function fakeRuntime(pingsItself = false) {
  let events: WSEvents | undefined
  let runtimeOptions: unknown
  const runtime = {
    name: 'fake',
    webSocket: {
      upgrade: ((createEvents: (c: unknown) => Promise<WSEvents>, options: unknown) => {
        runtimeOptions = options
        return async (c: unknown) => {
          events = await createEvents(c)
          return new Response(null)
        }
      }) as never,
      options: (limits: { idleTimeoutMs: number }) => ({
        idleTimeout: limits.idleTimeoutMs / 1000,
      }),
      pingsItself,
    },
  } as unknown as Runtime
  const scope = new ServerScope(runtime)
  return { scope, events: () => events as WSEvents, runtimeOptions: () => runtimeOptions }
}

/** A socket that records what the guard does to it; `raw` can ping like Node's ws. */
function fakeSocket(raw?: unknown) {
  const closes: Array<[number | undefined, string | undefined]> = []
  const socket = { raw, close: (code?: number, reason?: string) => closes.push([code, reason]) }
  return { socket: socket as unknown as WSContext, closes }
}

async function open(
  options: Parameters<typeof upgradeWebSocket>[1],
  onMessage = vi.fn(),
  pingsItself = false
) {
  const runtime = fakeRuntime(pingsItself)
  const app = new Hono().get(
    '/ws',
    upgradeWebSocket(() => ({ onMessage }), options)
  )
  await app.request('/ws', {}, { [SERVER_SCOPE]: runtime.scope })
  return {
    events: runtime.events(),
    scope: runtime.scope,
    onMessage,
    runtimeOptions: runtime.runtimeOptions(),
  }
}

describe('upgradeWebSocket', () => {
  test('passes messages within the limit, closes with 1009 on a bigger one', async () => {
    const { events, onMessage } = await open({ maxMessageBytes: 8 })
    const { socket, closes } = fakeSocket()
    events.onOpen?.(new Event('open'), socket)
    events.onMessage?.(new MessageEvent('message', { data: 'small' }), socket)
    events.onMessage?.(new MessageEvent('message', { data: 'ééééé' }), socket) // 10 bytes
    events.onMessage?.(new MessageEvent('message', { data: new ArrayBuffer(9) }), socket)
    expect(onMessage).toHaveBeenCalledOnce()
    expect(closes).toEqual([
      [1009, 'message over 8 bytes'],
      [1009, 'message over 8 bytes'],
    ])
    events.onClose?.(new CloseEvent('close'), socket)
  })

  test('closes a silent socket with 1001 after idleTimeoutMs; traffic resets the clock', async () => {
    vi.useFakeTimers()
    const { events } = await open({ idleTimeoutMs: 1000, heartbeatMs: 0 })
    const { socket, closes } = fakeSocket()
    events.onOpen?.(new Event('open'), socket)
    await vi.advanceTimersByTimeAsync(900)
    events.onMessage?.(new MessageEvent('message', { data: 'still here' }), socket)
    await vi.advanceTimersByTimeAsync(900)
    expect(closes).toEqual([])
    await vi.advanceTimersByTimeAsync(100)
    expect(closes).toEqual([[1001, 'idle timeout']])
    events.onClose?.(new CloseEvent('close'), socket)
  })

  test('pings where the runtime can, and a pong counts as life', async () => {
    vi.useFakeTimers()
    const { events } = await open({ idleTimeoutMs: 1000, heartbeatMs: 400 })
    let onPong = () => {}
    const raw = { ping: vi.fn(), on: (_event: string, listener: () => void) => (onPong = listener) }
    const { socket, closes } = fakeSocket(raw)
    events.onOpen?.(new Event('open'), socket)
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(400)
      onPong()
    }
    expect(raw.ping).toHaveBeenCalledTimes(5)
    expect(closes).toEqual([])
    events.onClose?.(new CloseEvent('close'), socket)
    await vi.advanceTimersByTimeAsync(2000)
    expect(raw.ping).toHaveBeenCalledTimes(5) // the heartbeat stopped with the socket
  })

  test('a runtime that runs the heartbeat itself (Deno) gets no second idle timer', async () => {
    vi.useFakeTimers()
    const { events } = await open({ idleTimeoutMs: 1000, heartbeatMs: 400 }, vi.fn(), true)
    const { socket, closes } = fakeSocket()
    events.onOpen?.(new Event('open'), socket)
    await vi.advanceTimersByTimeAsync(5000)
    expect(closes).toEqual([]) // the runtime's pongs, unseen here, decide
    events.onClose?.(new CloseEvent('close'), socket)

    // With the heartbeat off, silence is judged here again.
    const quiet = await open({ idleTimeoutMs: 1000, heartbeatMs: 0 }, vi.fn(), true)
    const other = fakeSocket()
    quiet.events.onOpen?.(new Event('open'), other.socket)
    await vi.advanceTimersByTimeAsync(1000)
    expect(other.closes).toEqual([[1001, 'idle timeout']])
    quiet.events.onClose?.(new CloseEvent('close'), other.socket)
  })

  test("a server's goAway says 1001 to its open sockets, forgets closed ones, and leaves another server's", async () => {
    const first = await open({ heartbeatMs: 0, idleTimeoutMs: 0 })
    const second = await open({ heartbeatMs: 0, idleTimeoutMs: 0 })
    const a = fakeSocket()
    const b = fakeSocket()
    const other = fakeSocket()
    first.events.onOpen?.(new Event('open'), a.socket)
    first.events.onOpen?.(new Event('open'), b.socket)
    first.events.onClose?.(new CloseEvent('close'), b.socket)
    second.events.onOpen?.(new Event('open'), other.socket)
    expect(goAway(first.scope)).toBe(1)
    expect(a.closes).toEqual([[1001, 'server shutting down']])
    expect(b.closes).toEqual([])
    expect(other.closes).toEqual([])
    expect(second.scope.webSockets.size).toBe(1)
  })

  test('outside a request served by an adapter, it says what is missing', async () => {
    const app = new Hono()
      .onError((error, c) => c.text(error.message, 500))
      .get(
        '/ws',
        upgradeWebSocket(() => ({}))
      )
    const res = await app.request('/ws')
    expect(await res.text()).toMatch(/^upgradeWebSocket needs the runtime serving this request/)
  })

  test("the runtime's own options are derived from the limits", async () => {
    const { runtimeOptions } = await open({ idleTimeoutMs: 5000 })
    expect(runtimeOptions).toEqual({ idleTimeout: 5 })
  })
})
