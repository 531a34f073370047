import type { Context } from 'hono'
import { timingSafeEqual } from 'hono/utils/buffer'
import { type ClientAddressOptions, clientAddress } from '../src/client-address.ts'

/** Who may scrape without further checks: see `PrometheusMetricsOptions.allow`. */
export type ScrapeAllow = 'loopback' | 'any' | ((c: Context) => boolean)

/** Why a scrape was refused, or `undefined` when it may go on. */
export type Refusal = 'unauthorized' | 'forbidden' | undefined

/**
 * Headers a reverse proxy adds. A proxy on the same host reaches the app from 127.0.0.1, so
 * a loopback peer that forwards someone else's request is not a loopback client.
 */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'] as const

/**
 * Whether an address is loopback: 127.0.0.0/8, `::1`, or IPv4 loopback mapped into IPv6
 * (what Node reports when it listens on `::`).
 *
 * @example
 * ```ts
 * const metrics = prometheusMetrics({ allow: (c) => isLoopback(clientAddress(c)) || isOffice(c) })
 * ```
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false
  const ip = address.toLowerCase()
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.')
}

/**
 * A loopback client: with `trustProxy` unset, the connection's peer is loopback and the
 * request carries no forwarding header; with `trustProxy`, the address `clientAddress`
 * derives from `X-Forwarded-For` (the user vouches for the proxies in front).
 */
export function fromLoopback(c: Context, options: ClientAddressOptions): boolean {
  const trustProxy = options.trustProxy ?? false
  if (trustProxy === false && FORWARDING_HEADERS.some((name) => c.req.header(name) !== undefined)) {
    return false
  }
  return isLoopback(clientAddress(c, { trustProxy }))
}

/** Checks the client against `allow`, then (when one is set) the bearer token. */
export async function refusal(
  c: Context,
  allow: ScrapeAllow,
  token: string | undefined,
  options: ClientAddressOptions
): Promise<Refusal> {
  const allowed =
    allow === 'any' ? true : allow === 'loopback' ? fromLoopback(c, options) : allow(c)
  if (!allowed) return 'forbidden'
  if (token === undefined) return undefined
  const [scheme, candidate] = (c.req.header('authorization') ?? '').trim().split(/\s+/, 2)
  if (scheme?.toLowerCase() !== 'bearer' || candidate === undefined) return 'unauthorized'
  return (await timingSafeEqual(candidate, token)) ? undefined : 'unauthorized'
}
