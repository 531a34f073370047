import { Hono } from 'hono'
import { describe, expect, test } from 'vitest'
import { toWorker } from '../../adapters/workers/index.ts'
import { Service } from '../../src/index.ts'

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} }

describe('toWorker', () => {
  test('runs startup once, before the first event of any kind', async () => {
    const events: string[] = []
    const service = new Service(new Hono().get('/', (c) => c.text('ok')))
    service.onStartup(async () => {
      await Promise.resolve()
      events.push('startup')
    })
    const worker = toWorker(service, {
      scheduled: (controller: { cron: string }) => void events.push(`scheduled ${controller.cron}`),
    })
    await worker.scheduled({ cron: '* * * * *' })
    const responses = await Promise.all(
      [1, 2, 3].map(() => worker.fetch(new Request('http://x/'), {}, ctx))
    )
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200])
    expect(events).toEqual(['startup', 'scheduled * * * * *'])
  })

  test('passes the user handlers their arguments and results', async () => {
    const worker = toWorker(new Hono(), {
      queue: async (batch: { messages: number[] }, env: { factor: number }) =>
        batch.messages.map((m) => m * env.factor),
    })
    expect(await worker.queue({ messages: [1, 2] }, { factor: 10 })).toEqual([10, 20])
  })

  test('a failed startup fails the event and is retried on the next one', async () => {
    let attempts = 0
    const service = new Service(new Hono().get('/', (c) => c.text('ok')))
    service.onStartup(() => {
      if (++attempts === 1) throw new Error('binding not ready')
    })
    const worker = toWorker(service)
    await expect(worker.fetch(new Request('http://x/'), {}, ctx)).rejects.toThrow(
      'binding not ready'
    )
    expect((await worker.fetch(new Request('http://x/'), {}, ctx)).status).toBe(200)
    expect(attempts).toBe(2)
  })
})
