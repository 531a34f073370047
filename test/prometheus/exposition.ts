/**
 * A checker for the Prometheus text exposition format 0.0.4, by its rules (no parser is
 * installed here; this one follows prometheus/common's expfmt TextParser): every line ends
 * with `\n`; `# HELP` / `# TYPE` at most once per name and TYPE before the family's samples;
 * other `#` lines are comments (the exporter's `# UNIT` among them); a family's samples are
 * contiguous; names, label names and escapes are valid; no label repeats within a sample and
 * no series repeats; a histogram's buckets ascend with cumulative counts and end at `+Inf`
 * equal to `_count`. Returns the families so tests can read values.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  /** The sample's own name (`x_bucket` for a histogram `x`). */
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  help?: string
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

export class ExpositionError extends Error {
  override readonly name = 'ExpositionError'
}

/** Parses and checks `text`; throws an `ExpositionError` naming the line that breaks a rule. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const typed = new Set<string>()
  const helped = new Set<string>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: Family | undefined
  if (text !== '' && !text.endsWith('\n')) throw new ExpositionError('the last line has no \\n')
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, index) => {
    const fail = (message: string): never => {
      throw new ExpositionError(`line ${index + 1}: ${message}: ${JSON.stringify(line)}`)
    }
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const [, keyword, name, rest] = /^#\s*(\S+)(?:\s+(\S+))?(?:\s(.*))?$/.exec(line) ?? []
      if (keyword !== 'HELP' && keyword !== 'TYPE') return // a comment
      if (name === undefined || !METRIC_NAME.test(name)) fail('invalid metric name in comment')
      const family = familyOf(families, name as string)
      if (closed.has(family.name)) fail('metadata after the family was closed')
      if (keyword === 'HELP') {
        if (helped.has(family.name)) fail('second HELP line')
        helped.add(family.name)
        if (!/^(?:[^\\]|\\[\\n])*$/.test(rest ?? '')) fail('invalid escape in HELP')
        family.help = unescapeHelp(rest ?? '')
      } else {
        if (typed.has(family.name)) fail('second TYPE line')
        if (family.samples.length > 0) fail('TYPE after samples')
        if (!TYPES.has(rest ?? '')) fail('unknown type')
        typed.add(family.name)
        family.type = rest as MetricType
      }
      if (current && current !== family) closed.add(current.name)
      current = family
      return
    }
    const sample = parseSample(line, fail)
    const family = owner(families, sample.name)
    if (closed.has(family.name)) fail('samples of a family are not contiguous')
    if (current && current !== family) closed.add(current.name)
    current = family
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`
    if (series.has(key)) fail('duplicate series')
    series.add(key)
    if (family.type === 'counter' && !(sample.value >= 0)) fail('negative counter')
    family.samples.push(sample)
  })
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family)
  }
  // Families named only by a HELP/TYPE line and no sample are dropped, as the parser does.
  for (const [name, family] of families) if (family.samples.length === 0) families.delete(name)
  return families
}

function familyOf(families: Map<string, Family>, name: string): Family {
  let family = families.get(name)
  if (!family) {
    family = { name, type: 'untyped', samples: [] }
    families.set(name, family)
  }
  return family
}

/** The family a sample belongs to: a typed family whose name plus a suffix of its type is it. */
function owner(families: Map<string, Family>, name: string): Family {
  for (const family of families.values()) {
    if (SUFFIXES[family.type].some((suffix) => family.name + suffix === name)) return family
  }
  return familyOf(families, name)
}

function parseSample(line: string, fail: (message: string) => never): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
  if (!nameMatch) fail('invalid metric name')
  const name = (nameMatch as RegExpExecArray)[0]
  let rest = line.slice(name.length)
  const labels: Record<string, string> = {}
  if (rest.startsWith('{')) {
    rest = rest.slice(1)
    for (;;) {
      rest = rest.replace(/^[ \t]+/, '')
      if (rest.startsWith('}')) {
        rest = rest.slice(1)
        break
      }
      const label = /^([^=\s]+)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*(,?)/.exec(rest)
      if (!label) fail('invalid label')
      const [whole, labelName, raw, comma] = label as RegExpExecArray
      if (!LABEL_NAME.test(labelName as string)) fail(`invalid label name ${labelName}`)
      if ((labelName as string) === '__name__') fail('reserved label name')
      if ((labelName as string) in labels) fail('duplicate label name')
      if (!/^(?:[^\\]|\\[\\"n])*$/.test(raw as string)) fail('invalid escape in label value')
      labels[labelName as string] = (raw as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c
      )
      rest = rest.slice((whole as string).length)
      if (comma === '' && !rest.replace(/^[ \t]+/, '').startsWith('}')) fail('expected , or }')
    }
  }
  const parts = rest.trim().split(/[ \t]+/)
  if (!/^[ \t]/.test(rest) || parts.length < 1 || parts.length > 2) fail('expected value')
  const value = parseValue(parts[0] as string)
  if (value === undefined) fail('invalid value')
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail('invalid timestamp')
  return { name, labels, value: value as number }
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (text === 'NaN') return Number.NaN
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined
}

function unescapeHelp(text: string): string {
  return text.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'))
}

function checkHistogram(family: Family): void {
  const fail = (message: string): never => {
    throw new ExpositionError(`histogram ${family.name}: ${message}`)
  }
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>()
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const group = groups.get(key) ?? { buckets: [] }
    groups.set(key, group)
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) fail('bucket without le')
      const bound = parseValue(le as string)
      if (bound === undefined || Number.isNaN(bound)) fail(`invalid le ${le}`)
      group.buckets.push([bound as number, sample.value])
    } else {
      if (le !== undefined) fail('le on a non-bucket sample')
      if (sample.name === `${family.name}_count`) group.count = sample.value
    }
  }
  for (const { buckets, count } of groups.values()) {
    for (let i = 1; i < buckets.length; i++) {
      const [bound, value] = buckets[i] as [number, number]
      const [previousBound, previousValue] = buckets[i - 1] as [number, number]
      if (!(bound > previousBound)) fail('le not ascending')
      if (value < previousValue) fail('bucket counts not cumulative')
    }
    const last = buckets.at(-1)
    if (!last || last[0] !== Number.POSITIVE_INFINITY) fail('no +Inf bucket')
    if (count !== undefined && (last as [number, number])[1] !== count) fail('+Inf ≠ _count')
  }
}

/** The value of the one sample of `family` named `name` whose labels include `labels`. */
export function sampleValue(
  families: Map<string, Family>,
  family: string,
  labels: Record<string, string> = {},
  name: string = family
): number | undefined {
  const matches = (families.get(family)?.samples ?? []).filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
  )
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match`)
  return matches[0]?.value
}
