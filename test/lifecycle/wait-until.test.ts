import { describe, expect, test } from 'vitest'
import { InFlight, WaitUntilTracker } from '../../src/internal.ts'

describe('WaitUntilTracker', () => {
  test('drain waits for every promise, including ones added while draining', async () => {
    const tracker = new WaitUntilTracker()
    const done: string[] = []
    const first = Promise.withResolvers<void>()
    tracker.waitUntil(
      first.promise.then(() => {
        done.push('first')
        tracker.waitUntil(Promise.resolve().then(() => void done.push('added later')))
      })
    )
    expect(tracker.pending).toBe(1)
    const drained = tracker.drain().then(() => done.push('drained'))
    first.resolve()
    await drained
    expect(done).toEqual(['first', 'added later', 'drained'])
    expect(tracker.pending).toBe(0)
  })

  test('a rejected promise is reported, not thrown, and drain still resolves', async () => {
    const errors: unknown[] = []
    const tracker = new WaitUntilTracker((error) => errors.push(error))
    const boom = new Error('boom')
    tracker.waitUntil(Promise.reject(boom))
    await tracker.drain()
    expect(errors).toEqual([boom])
  })

  test('it is a Hono ExecutionContext', () => {
    const tracker = new WaitUntilTracker()
    expect(() => tracker.passThroughOnException()).not.toThrow()
    expect(tracker.props).toEqual({})
  })
})

describe('InFlight', () => {
  test('counts pending promises and resolves idle when the last settles', async () => {
    const requests = new InFlight()
    const a = Promise.withResolvers<string>()
    const b = Promise.withResolvers<string>()
    expect(requests.track(a.promise)).toBe(a.promise)
    requests.track(b.promise)
    b.promise.catch(() => {})
    expect(requests.count).toBe(2)
    let idle = false
    const waiting = requests.idle().then(() => {
      idle = true
    })
    a.resolve('ok')
    await a.promise
    await Promise.resolve()
    expect(idle).toBe(false)
    b.reject(new Error('a failed handler counts as finished'))
    await waiting
    expect(requests.count).toBe(0)
  })

  test('synchronous results are returned untouched and not counted', async () => {
    const requests = new InFlight()
    const response = new Response('sync')
    expect(requests.track(response)).toBe(response)
    expect(requests.count).toBe(0)
    await requests.idle()
  })
})
