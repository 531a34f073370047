import { getEventListeners } from 'node:events'
import type { Context } from 'hono'
import { describe, expect, test } from 'vitest'
import { Broadcast, SlowSubscriberError } from '../../src/channels/index.ts'
import { goAway } from '../../src/lifecycle/go-away.ts'
import type { Runtime } from '../../src/runtime/runtime.ts'
import { SERVER_SCOPE, ServerScope } from '../../src/runtime/server-scope.ts'

/** A server's scope, and a request it serves (the part of a context subscribe reads). */
function served(scope = new ServerScope({ name: 'fake' } as Runtime)) {
  const request = (signal?: AbortSignal) =>
    ({
      req: { raw: new Request('http://localhost/', { signal }) },
      env: { [SERVER_SCOPE]: scope },
    }) as unknown as Context
  return { scope, request }
}

async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = []
  if (n === 0) return out
  for await (const item of iterable) {
    out.push(item)
    if (out.length === n) break
  }
  return out
}

describe('Broadcast', () => {
  test('every subscriber gets every message, in order', async () => {
    const channel = new Broadcast<number>()
    const subscribers = [channel.subscribe(), channel.subscribe(), channel.subscribe()]
    expect(channel.publish(1)).toBe(3)
    channel.publish(2)
    for (const s of subscribers) expect(await take(s, 2)).toEqual([1, 2])
  })

  test('a subscriber sees only what was published after it joined', async () => {
    const channel = new Broadcast<string>()
    channel.publish('before')
    const late = channel.subscribe()
    channel.publish('after')
    expect(await take(late, 1)).toEqual(['after'])
  })

  test('waiting subscribers wake on publish', async () => {
    const channel = new Broadcast<string>()
    const reading = take(channel.subscribe(), 2)
    await Promise.resolve()
    channel.publish('a')
    channel.publish('b')
    expect(await reading).toEqual(['a', 'b'])
  })

  test('overflow drop-oldest keeps the newest messages', async () => {
    const channel = new Broadcast<number>()
    const sub = channel.subscribe({ bufferSize: 3 })
    for (let i = 1; i <= 5; i++) channel.publish(i)
    expect(sub.dropped).toBe(2)
    expect(await take(sub, 3)).toEqual([3, 4, 5])
  })

  test('overflow drop-newest keeps the first messages', async () => {
    const channel = new Broadcast<number>()
    const sub = channel.subscribe({ bufferSize: 3, overflow: 'drop-newest' })
    for (let i = 1; i <= 5; i++) channel.publish(i)
    expect(await take(sub, 3)).toEqual([1, 2, 3])
  })

  test('overflow disconnect ends a slow subscriber with SlowSubscriberError; others go on', async () => {
    const channel = new Broadcast<number>()
    const slow = channel.subscribe({ bufferSize: 2, overflow: 'disconnect' })
    const fast = channel.subscribe({ bufferSize: 10 })
    for (let i = 1; i <= 3; i++) channel.publish(i)
    expect(channel.size).toBe(1)
    await expect(take(slow, 5)).rejects.toBeInstanceOf(SlowSubscriberError)
    expect(await take(fast, 3)).toEqual([1, 2, 3])
  })

  test('aborting the signal unsubscribes at once and ends iteration quietly', async () => {
    const channel = new Broadcast<number>()
    const controller = new AbortController()
    const sub = channel.subscribe({ signal: controller.signal })
    const reading = take(sub, 10)
    await Promise.resolve()
    controller.abort()
    expect(channel.size).toBe(0)
    expect(await reading).toEqual([])
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })

  test('an already-aborted signal gives an ended subscription', async () => {
    const channel = new Broadcast<number>()
    const sub = channel.subscribe({ signal: AbortSignal.abort() })
    expect(channel.size).toBe(0)
    expect(await take(sub, 1)).toEqual([])
  })

  test('breaking out of the loop unsubscribes', async () => {
    const channel = new Broadcast<number>()
    const sub = channel.subscribe()
    channel.publish(1)
    await take(sub, 1)
    expect(channel.size).toBe(0)
  })

  test('close lets subscribers drain, then ends them; publishing after close throws', async () => {
    const channel = new Broadcast<number>()
    const sub = channel.subscribe()
    channel.publish(1)
    channel.publish(2)
    channel.close()
    expect(await take(sub, 10)).toEqual([1, 2])
    expect(() => channel.publish(3)).toThrow()
  })

  test("a server's graceful shutdown ends each of its subscriptions once it has read what it was sent", async () => {
    const server = served()
    const other = served()
    const channel = new Broadcast<number>()
    const waiting = take(channel.subscribe(server.request()), 10)
    const behind = channel.subscribe(server.request())
    const elsewhere = channel.subscribe(other.request())
    channel.publish(1)
    channel.publish(2)
    expect(goAway(server.scope)).toBe(2)
    expect(channel.size).toBe(1) // the other server's subscriber
    expect(await waiting).toEqual([1, 2])
    expect(await take(behind, 10)).toEqual([1, 2])
    // The broadcast itself stays open, and the other server's subscriber reads on.
    expect(channel.publish(3)).toBe(1)
    expect(await take(elsewhere, 3)).toEqual([1, 2, 3])
  })

  test("a request's subscription ends when its client leaves (the request's signal)", async () => {
    const { scope, request } = served()
    const channel = new Broadcast<number>()
    const client = new AbortController()
    const sub = channel.subscribe(request(client.signal), { bufferSize: 4 })
    channel.publish(1)
    client.abort()
    expect(await take(sub, 1)).toEqual([])
    expect(channel.size).toBe(0)
    expect(goAway(scope)).toBe(0) // nothing left for the shutdown
  })

  test('subscriptions that ended are not kept for the shutdown', async () => {
    const { scope, request } = served()
    const channel = new Broadcast<number>()
    const controller = new AbortController()
    const left = channel.subscribe(request(), { signal: controller.signal })
    const read = channel.subscribe(request())
    channel.publish(1)
    controller.abort()
    expect(await take(left, 1)).toEqual([])
    expect(await take(read, 1)).toEqual([1])
    expect(goAway(scope)).toBe(0)
  })

  test('10,000 subscribe/disconnect cycles leave no subscriber and no listener behind', async () => {
    const channel = new Broadcast<number>()
    const shared = new AbortController() // a long-lived signal many subscriptions pass by
    for (let i = 0; i < 10_000; i++) {
      const client = new AbortController()
      const sub = channel.subscribe({ signal: AbortSignal.any([shared.signal, client.signal]) })
      channel.publish(i)
      client.abort()
      expect(await take(sub, 1)).toEqual([])
    }
    expect(channel.size).toBe(0)
    expect(getEventListeners(shared.signal, 'abort').length).toBeLessThan(10)
  })
})
