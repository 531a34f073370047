/**
 * The load generator: one long-lived process (on core 1) running autocannon for each
 * request its parent sends over IPC, so that a measurement does not pay a Node start
 * (~0.4 s on a quiet box, over 1 s on a busy one: minutes over a whole `npm run bench`).
 * Its JIT and heap carry from one measurement to the next alike for every server.
 */
import { createRequire } from 'node:module'

/** What the parent asks for: one autocannon run. */
export interface LoadRequest {
  url: string
  connections: number
  /** Seconds. */
  duration: number
  method?: string
  headers?: Record<string, string>
  body?: string
}

/** The parts of autocannon's result the benchmarks use. */
export interface LoadReply {
  requests: number
  rps: number
  p99: number
  errors: number
}

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p99: number }
  errors: number
  non2xx: number
}

if (import.meta.main) {
  // autocannon is CommonJS without types.
  const autocannon = createRequire(import.meta.url)('autocannon') as (
    options: LoadRequest
  ) => Promise<AutocannonResult>
  process.on('message', async (request: LoadRequest) => {
    const result = await autocannon(request)
    const reply: LoadReply = {
      requests: result.requests.total,
      rps: result.requests.average,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
    }
    process.send?.(reply)
  })
  process.on('disconnect', () => process.exit(0))
}
