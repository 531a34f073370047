/**
 * MemoryStore at its bound: memory per key, and the cost of a request at 10,000 keys.
 * Run: node --expose-gc bench/rate-limit-store.ts [path of another store.ts to compare]
 */
import { MemoryStore } from '../src/middleware/rate-limit/memory-store.ts'
import type { RateLimitRule } from '../src/quota/index.ts'

type Store = { consume(key: string, rule: RateLimitRule): unknown }
type Make = (options: { maxKeys: number; now: () => number }) => Store

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc')
const other = process.argv[2]
const stores: [string, Make][] = [['MemoryStore', (o) => new MemoryStore({ ...o, warn: () => {} })]]
if (other) {
  const mod = (await import(other)) as { MemoryStore: new (o: object) => Store }
  stores.push([`${other}`, (o) => new mod.MemoryStore(o)])
}

const rules: Record<string, RateLimitRule> = {
  'sliding-window': { algorithm: 'sliding-window', limit: 3, windowMs: 60_000 },
  'token-bucket': { algorithm: 'token-bucket', capacity: 3, refillPerSecond: 0.05 },
}
// Keys of 20 characters, as long as an IPv6 /64 prefix written out (`2001:db8:aaaa:bbbb`).
const key = (i: number) => `203.0.113.${i}`.padEnd(20, '#')

function heapOf(make: Make, rule: RateLimitRule, n: number): number {
  // Made beforehand, so not counted: a 20-character key string adds ≈ 32 bytes.
  const keys = Array.from({ length: n }, (_, i) => key(i))
  gc?.()
  gc?.()
  const before = process.memoryUsage().heapUsed
  const store = make({ maxKeys: n, now: () => 0 })
  for (const k of keys) store.consume(k, rule)
  gc?.()
  gc?.()
  const after = process.memoryUsage().heapUsed
  if (!store) throw new Error('unreachable')
  return (after - before) / n
}

function nsPer(run: (i: number) => void, n: number): number {
  for (let i = 0; i < n; i++) run(i) // warm up
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) run(i)
  return Number(process.hrtime.bigint() - start) / n
}

for (const [name, make] of stores) {
  for (const [ruleName, rule] of Object.entries(rules)) {
    const bytes10k = heapOf(make, rule, 10_000)
    const bytes100k = heapOf(make, rule, 100_000)
    let now = 1_000_000
    const store = make({ maxKeys: 10_000, now: () => now })
    for (let i = 0; i < 10_000; i++) store.consume(key(i), rule)
    const keys = Array.from({ length: 10_000 }, (_, i) => key(i))
    // Every key held is live and limited: requests under held keys (refused), then under
    // new keys (refused for want of room by the new store; evicting by the old one).
    const held = nsPer((i) => store.consume(keys[i % 10_000] as string, rule), 200_000)
    const fresh = nsPer((i) => store.consume(`fresh-${i}`, rule), 200_000)
    // A quiet store: one allowed request per key, time moving on (spent keys reclaimed).
    const quiet = make({ maxKeys: 10_000, now: () => now })
    const moving = nsPer((i) => {
      now += 20
      quiet.consume(keys[i % 10_000] as string, rule)
    }, 200_000)
    console.log(
      `${name} ${ruleName}: ${bytes10k.toFixed(0)} B/key at 10k, ${bytes100k.toFixed(0)} B/key at 100k; ` +
        `at 10,000 live keys: held key ${held.toFixed(0)} ns, new key ${fresh.toFixed(0)} ns; ` +
        `allowed with reclaiming ${moving.toFixed(0)} ns`
    )
  }
}
