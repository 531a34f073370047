import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { CircuitBreakers } from '../../src/client/circuit.ts'
import { CircuitOpenError, createClient } from '../../src/client/index.ts'
import { startUpstream, type Upstream } from './upstream.ts'

let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())
afterEach(() => {
  vi.useRealTimers()
})

describe('circuit breaker', () => {
  it('opens after N consecutive failures, fails fast, half-opens after the cool-down', async () => {
    // Only Date is faked: the cool-down is read from Date.now(), sockets keep real timers.
    vi.useFakeTimers({ toFake: ['Date'] })
    let status = 500
    upstream.handle((_req, res) => {
      res.writeHead(status).end()
    })
    const client = createClient({ retry: false, circuit: { failures: 3, cooldownMs: 10_000 } })
    for (let i = 0; i < 3; i++) {
      const res = await client.get(upstream.url)
      expect(res.status).toBe(500)
    }
    const snapshot = client.circuit(upstream.origin)
    expect(snapshot.state).toBe('open')
    expect(snapshot.failures).toBe(3)
    const from = upstream.count
    await expect(client.get(upstream.url)).rejects.toBeInstanceOf(CircuitOpenError)
    expect(upstream.count).toBe(from)

    vi.setSystemTime(Date.now() + 10_001)
    expect(client.circuit(`${upstream.url}any/path`).state).toBe('half-open')
    // The probe fails: open again.
    const probe = await client.get(upstream.url)
    expect(probe.status).toBe(500)
    expect(client.circuit(upstream.origin).state).toBe('open')

    vi.setSystemTime(Date.now() + 10_001)
    status = 200
    const ok = await client.get(upstream.url)
    expect(ok.status).toBe(200)
    expect(client.circuit(upstream.origin)).toEqual({ state: 'closed', failures: 0 })
  })

  it('lets one probe through while half-open; an aborted probe frees the slot', () => {
    let now = 0
    const breakers = new CircuitBreakers({ failures: 1, cooldownMs: 100 }, () => now)
    breakers.enter('o')
    breakers.leave('o', 'failure')
    expect(() => breakers.enter('o')).toThrow(CircuitOpenError)
    now = 100
    breakers.enter('o') // the probe
    expect(() => breakers.enter('o')).toThrow(CircuitOpenError)
    breakers.leave('o', 'neutral')
    breakers.enter('o')
    breakers.leave('o', 'success')
    expect(breakers.snapshot('o')).toEqual({ state: 'closed', failures: 0 })
  })

  it('counts network errors as failures, a success resets the count', () => {
    const breakers = new CircuitBreakers({ failures: 2 }, () => 0)
    breakers.leave('o', 'failure')
    breakers.leave('o', 'success')
    breakers.leave('o', 'failure')
    expect(breakers.snapshot('o').state).toBe('closed')
    breakers.leave('o', 'failure')
    expect(breakers.snapshot('o').state).toBe('open')
  })
})
