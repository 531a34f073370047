import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { eventually } from './client.ts'
import { type OtlpCollector, startOtlpCollector } from './otlp-collector.ts'
import { startServer } from './spawn.ts'
import { newTrace } from './telemetry-cases.ts'

// The example's process entries (examples/node, examples/deno, examples/bun), started as the
// README starts them: with OTEL_DEBUG=1 they print their spans; exporting to an OTLP
// collector with the SDK's default batch delay (5 s), the spans of requests in flight at
// SIGTERM are still in the batch when the drain ends, and reach the collector only because
// the example's cleanup hook shuts the provider down before the process exits.

let collector: OtlpCollector
beforeAll(async () => {
  collector = await startOtlpCollector()
})
afterAll(() => collector.close())

describe.each(['node', 'deno', 'bun'] as const)(
  'telemetry of the example process [%s]',
  (runtime) => {
    test('OTEL_DEBUG=1 prints each span to the console', async () => {
      const server = await startServer(runtime, { OTEL_DEBUG: '1' })
      const { traceId, headers } = newTrace()
      expect(await (await fetch(`${server.url}/hello/debug`, { headers })).text()).toBe(
        'Hello, debug'
      )
      await eventually(async () => expect(server.stdout()).toContain(traceId))
      expect(server.stdout()).toMatch(/name: ['"]GET \/hello\/:name['"]/)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
    })

    test('spans of requests in flight at SIGTERM reach the collector before the process exits', async () => {
      const server = await startServer(runtime, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url })
      const traces = [1, 2, 3].map(() => newTrace())
      const ids = traces.map((_, i) => `${runtime}-otel-drain-${Date.now()}-${i}`)
      const responses = traces.map((t, i) =>
        fetch(`${server.url}/long-poll/${ids[i]}?ms=1500`, { headers: t.headers })
      )
      for (const id of ids) {
        await eventually(async () => {
          const state = await fetch(`${server.url}/long-poll/${id}/state`)
          expect(await state.json()).toEqual({ state: 'waiting' })
        })
      }
      server.child.kill('SIGTERM')
      for (const response of responses) expect(await (await response).text()).toBe('answered')
      expect(await server.exited).toBe(0)
      // Read at once, no waiting: the export finished (the collector answered) before the exit.
      for (const { traceId, parentId } of traces) {
        const spans = collector.spans().filter((span) => span.traceId === traceId)
        expect(spans).toEqual([
          expect.objectContaining({
            name: 'GET /long-poll/:id',
            parentSpanId: parentId,
            attributes: expect.objectContaining({ 'http.response.status_code': 200 }),
          }),
        ])
      }
    })
  }
)
