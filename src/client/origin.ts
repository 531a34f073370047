// The origin of each call keys its limits and circuit. Parsing the call's URL for it cost
// ~1 µs a call that fetch then pays again (undici parses the string itself), so the usual
// input, an absolute `http(s)://` string, is keyed by its scheme and authority and each
// distinct one parsed once.

/** Origins of the scheme-and-authority prefixes met so far. */
const origins = new Map<string, string>()
/** Prefixes kept; the map starts over past it (a client calling many hosts). */
const MAX_PREFIXES = 512

/**
 * The origin of an absolute `http://` or `https://` URL string, or `undefined` for any
 * other form (relative, another scheme, leading spaces…), which the caller parses whole.
 * The authority ends where the URL parser ends it (`/`, `?`, `#` or `\`), and the prefix
 * is itself parsed with `URL`, so the result is the one `new URL(input).origin` gives.
 *
 * @example
 * ```ts
 * originOf('https://API.example.com:443/v1?x=1') // 'https://api.example.com'
 * ```
 */
export function originOf(input: string): string | undefined {
  let end: number
  if (input.startsWith('https://')) end = 8
  else if (input.startsWith('http://')) end = 7
  else return undefined
  const start = end
  for (; end < input.length; end++) {
    const c = input.charCodeAt(end)
    if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) break // / ? # \
  }
  // `http:///host`, `http://\\host`: the parser skips any more slashes; leave those to it.
  if (end === start) return undefined
  const prefix = end === input.length ? input : input.slice(0, end)
  let origin = origins.get(prefix)
  if (origin === undefined) {
    origin = new URL(prefix).origin
    if (origins.size >= MAX_PREFIXES) origins.clear()
    origins.set(prefix, origin)
  }
  return origin
}
