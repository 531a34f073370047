/**
 * The format checker the scrape tests rely on refuses what Prometheus's text parser refuses
 * (so a scrape test that passes says something), and the exporter's one known way to
 * break the format: one metric name in two meters' scopes.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics'
import { describe, expect, test } from 'vitest'
import { prometheusMetrics } from '../../prometheus/index.ts'
import { ExpositionError, parseExposition, sampleValue } from './exposition.ts'

const valid = `# HELP a_total Things done\\nacross lines \\\\ ok
# TYPE a_total counter
a_total{x="1",y="q\\"uote\\\\ \\n"} 3
a_total{x="2"} 4 1700000000000
# some comment
# TYPE h histogram
h_count 2
h_sum 0.5
h_bucket{le="0.1"} 1
h_bucket{le="+Inf"} 2
untyped_one NaN
`

describe('the exposition checker', () => {
  test('accepts the format, unescaping HELP and label values', () => {
    const families = parseExposition(valid)
    expect(families.get('a_total')?.help).toBe('Things done\nacross lines \\ ok')
    expect(sampleValue(families, 'a_total', { y: 'q"uote\\ \n' })).toBe(3)
    expect(sampleValue(families, 'h', { le: '+Inf' }, 'h_bucket')).toBe(2)
    expect(families.get('untyped_one')?.type).toBe('untyped')
  })

  test.each([
    ['no final newline', valid.slice(0, -1)],
    ['second HELP', '# HELP a x\n# HELP a y\na 1\n'],
    ['second TYPE', '# TYPE a gauge\na 1\n# TYPE a gauge\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['unknown type', '# TYPE a thing\na 1\n'],
    ['family not contiguous', 'a 1\nb 1\na{x="1"} 2\n'],
    ['duplicate series', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['duplicate label', 'a{x="1",x="2"} 1\n'],
    ['bad label name', 'a{1x="1"} 1\n'],
    ['bad escape', 'a{x="\\t"} 1\n'],
    ['bad metric name', '1a 1\n'],
    ['bad value', 'a one\n'],
    ['negative counter', '# TYPE a_total counter\na_total -1\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_count 2\n'],
    ['+Inf differs from _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n'],
    ['le not ascending', '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\n'],
  ])('refuses: %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError)
  })
})

test('known exporter limitation: one name in two meters gives a second HELP line', async () => {
  // open-telemetry/opentelemetry-js#3467: the exporter writes HELP/TYPE once per scope, which
  // Prometheus refuses. edgeio's own instruments share one meter, so only an app that reuses
  // a name across meters meets this; a View renaming one of them avoids it.
  const metrics = prometheusMetrics({ allow: 'any' })
  const provider = new MeterProvider({ readers: [metrics.reader] })
  provider.getMeter('one').createCounter('shared').add(1)
  provider.getMeter('two').createCounter('shared').add(1)
  try {
    const text = await metrics.scrape()
    expect(() => parseExposition(text)).toThrow(/second HELP line/)
  } finally {
    await provider.shutdown()
  }
})
