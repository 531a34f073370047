let cachedSecond = -1
let cachedPrefix = ''

/**
 * `new Date(ms).toISOString()` for times from 1970 to 9999, with the part up to the second
 * formatted once per second: the full call costs more than all the other fields of a log
 * line together (~0.8 µs against ~0.05 µs on Node 24).
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19)
  }
  return `${cachedPrefix}.${String(ms - second * 1000).padStart(3, '0')}Z`
}
