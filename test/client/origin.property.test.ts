import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { originOf } from '../../src/client/origin.ts'

/** What the client keyed limits by before: the whole URL parsed. */
const parsed = (input: string): string | Error => {
  try {
    return new URL(input).origin
  } catch (error) {
    return error as Error
  }
}
const fast = (input: string): string | Error | undefined => {
  try {
    return originOf(input)
  } catch (error) {
    return error as Error
  }
}

describe('originOf', () => {
  it('gives the origin URL gives, for any input it accepts (and the same errors)', () => {
    const authority = fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((ip) => `[${ip}]`),
      fc.constantFrom(
        'Example.COM',
        'a.b:443',
        'a.b:80',
        'user:pw@host',
        'h\tost',
        'xn--nxasmq6b',
        'bad host',
        ''
      )
    )
    const port = fc.oneof(
      fc.constant(''),
      fc.integer({ min: 0, max: 70_000 }).map((p) => `:${p}`)
    )
    const rest = fc.oneof(
      fc.constant(''),
      fc.webPath(),
      fc.constantFrom('?q=1', '#f', '\\x', '/a?b#c', '?@evil.com', '#@evil.com')
    )
    const scheme = fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', ' http://', 'http:/')
    fc.assert(
      fc.property(scheme, authority, port, rest, (s, a, p, r) => {
        const input = `${s}${a}${p}${r}`
        const got = fast(input)
        if (got === undefined) return // not the fast form: the caller parses it whole
        const want = parsed(input)
        if (want instanceof Error) expect(got).toBeInstanceOf(TypeError)
        else expect(got).toBe(want)
      }),
      { numRuns: 2_000 }
    )
  })

  it('leaves every form but absolute lower-case http(s) to URL', () => {
    expect(originOf('/relative')).toBeUndefined()
    expect(originOf('HTTPS://a.b/')).toBeUndefined()
    expect(originOf(' http://a.b/')).toBeUndefined()
    expect(originOf('https://A.b:443/x?y')).toBe('https://a.b')
  })
})
