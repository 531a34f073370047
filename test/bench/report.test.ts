// The harness's pairing and verdict logic, which decides
// what BENCHMARKS.md says about the targets.
import { describe, expect, it } from 'vitest'
import { coldStartRatios } from '../../bench/coldstart/run.ts'
import type { Sample } from '../../bench/http/run.ts'
import { parseCount } from '../../bench/perf.ts'
import { httpRatios, memoryRatio, pairedRatio } from '../../bench/report.ts'
import { soakVerdict } from '../../bench/soak/run.ts'

const sample = (
  round: number,
  server: string,
  route: string,
  rps: number,
  cpu: number,
  rss = 100
): Sample => ({
  round,
  runtime: 'node',
  server,
  route,
  requestsPerSecond: rps,
  p99Ms: 1,
  cpuMicrosPerRequest: cpu,
  instructionsPerRequest: undefined,
  rssMiB: rss,
  errors: 0,
})

describe('bench report', () => {
  it('pairs servers within a round and takes the median of the ratios', () => {
    // Round 2 is twice as fast for everyone: the paired ratio does not move.
    const samples = [
      sample(1, 'edgeio', 'GET /', 90, 10),
      sample(1, 'raw', 'GET /', 100, 9),
      sample(2, 'edgeio', 'GET /', 180, 5),
      sample(2, 'raw', 'GET /', 200, 4.5),
      sample(3, 'edgeio', 'GET /', 50, 10),
      sample(3, 'raw', 'GET /', 100, 9),
    ]
    expect(pairedRatio(samples, 'GET /', 'edgeio', 'raw', (s) => s.requestsPerSecond)).toBeCloseTo(
      0.9
    )
  })
  it('orients CPU ratios so that above 1.0 is edgeio ahead', () => {
    const samples = [sample(1, 'edgeio', 'GET /', 1, 10), sample(1, 'hono', 'GET /', 1, 12)]
    const cpu = httpRatios(samples, []).find((r) => r.route === 'GET /' && r.metric === 'CPU/req')
    expect(cpu?.value).toBeCloseTo(1.2)
    expect(cpu?.target).toBeCloseTo(1 / 1.05)
  })
  it('compares RSS after the last route', () => {
    const samples = [
      sample(1, 'edgeio', 'POST /echo', 1, 1, 110),
      sample(1, 'hono', 'POST /echo', 1, 1, 100),
    ]
    expect(memoryRatio(samples)).toBeCloseTo(1.1)
  })
  it('pairs cold starts run by run, bundled with bundled', () => {
    const ratios = coldStartRatios([
      { run: 1, runtime: 'node', server: 'hono', wallMs: 100, cpuMs: 50 },
      { run: 1, runtime: 'node', server: 'edgeio', wallMs: 120, cpuMs: 60 },
      { run: 1, runtime: 'node', server: 'hono, bundled', wallMs: 80, cpuMs: 40 },
      { run: 1, runtime: 'node', server: 'edgeio, bundled', wallMs: 80, cpuMs: 44 },
    ])
    expect(ratios.map((r) => [r.label, r.wall, r.cpu])).toEqual([
      ['node', 1.2, 1.2],
      ['node, bundled', 1, 1.1],
    ])
  })
  it('calls steady growth after the settled third of a soak, not a single step', () => {
    const soak = (curve: [number, number][]) => ({
      seconds: 60,
      route: 'POST /echo',
      requests: 1,
      errors: 0,
      curve,
    })
    // Measured 2026-11-26: flat at 121.4 MiB, one step to 134 MiB at 55 s.
    const step = soak([
      [0, 106],
      [5, 121.4],
      [20, 121.4],
      [30, 121.4],
      [40, 121.4],
      [50, 121.4],
      [55, 134.1],
      [60, 134.2],
    ])
    expect(soakVerdict(step)).toMatchObject({ rising: 1, intervals: 5, grew: false })
    const climb = soak([
      [0, 50],
      [20, 100],
      [30, 104],
      [40, 108],
      [50, 112],
      [60, 116],
    ])
    expect(soakVerdict(climb)).toMatchObject({ rising: 4, grew: true })
    expect(
      soakVerdict(
        soak([
          [0, 50],
          [20, 100],
          [60, 103],
        ])
      ).grew
    ).toBe(false)
  })
  it('reads perf counts, not <not supported>', () => {
    expect(parseCount('123456,,instructions:u,1000,100.00,,')).toBe(123456)
    expect(parseCount('<not supported>,,instructions:u,0,100.00,,')).toBeUndefined()
  })
})
