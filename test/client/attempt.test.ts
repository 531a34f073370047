import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClientClosedError, ClientTimeoutError, createClient } from '../../src/client/index.ts'
import { startUpstream, type Upstream } from './upstream.ts'

// After an attempt timeout the call goes on with a signal of its own (the timed-out one is
// spent): every later abort must still reach the retry, its wait and its body.
let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())

/** The first request of this test hangs; the next ones run `then`. */
function hangFirst(then: Parameters<Upstream['handle']>[0]): void {
  const first = upstream.count
  upstream.handle((req, res, n) => (n === first ? undefined : then(req, res, n)))
}

describe('client attempt timeouts', () => {
  it("the caller's abort reaches the retry's body after an attempt timed out", async () => {
    hangFirst((_req, res) => {
      res.writeHead(200)
      res.write('partial') // and never ends
    })
    const client = createClient({ timeout: { attempt: 100 }, retry: { backoffMs: 1 } })
    const caller = new AbortController()
    const res = await client.get(upstream.url, { signal: caller.signal })
    expect(res.status).toBe(200)
    const closed = upstream.nextDisconnect()
    const reading = res.text()
    caller.abort(new Error('caller gone'))
    await expect(reading).rejects.toThrow('caller gone')
    await closed
    expect(client.inFlight).toBe(0)
  })

  it('close() during the wait after an attempt timeout ends the call', async () => {
    upstream.handle(() => {}) // every attempt hangs
    // Full jitter under 60 s: the retry waits (all but surely) when close() comes; were it
    // sent already, close() would abort it just the same.
    const client = createClient({
      timeout: { attempt: 100 },
      retry: { backoffMs: 60_000, maxBackoffMs: 60_000 },
    })
    const timedOut = upstream.nextDisconnect()
    const settled = client.get(upstream.url).catch((e: unknown) => e)
    await timedOut // the first attempt timed out: the upstream saw it go
    await client.close({ timeoutMs: 0 })
    expect(await settled).toBeInstanceOf(ClientClosedError)
    expect(client.inFlight).toBe(0)
  })

  it('the total timeout still ends the retry after an attempt timed out', async () => {
    upstream.handle(() => {}) // every attempt hangs
    const client = createClient({
      timeout: { attempt: 100, total: 600 },
      retry: { limit: 10, backoffMs: 1 },
    })
    const error = await client.get(upstream.url).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ClientTimeoutError)
    expect((error as ClientTimeoutError).kind).toBe('total')
    expect(client.inFlight).toBe(0)
  })
})
