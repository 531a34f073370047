import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RedisKV } from '../../../src/distributed/redis/kv.ts'
import { KVSessionStore } from '../../../src/middleware/session/store.ts'
import { type RedisServer, startRedis } from '../../redis/server.ts'

let redis: RedisServer
let client: Redis

beforeAll(async () => {
  redis = await startRedis()
  client = new Redis(redis.url)
})
afterAll(async () => {
  client?.disconnect()
  await redis?.stop()
})

describe('RedisKV', () => {
  test('get parses JSON, answers null for a missing key, delete removes', async () => {
    const kv = new RedisKV(client, { prefix: 't1:' })
    expect(await kv.get('a', 'json')).toBeNull()
    await kv.put('a', JSON.stringify({ user: 'alice', n: 1.5 }))
    expect(await kv.get('a', 'json')).toEqual({ user: 'alice', n: 1.5 })
    expect(await client.get('t1:a')).toBe('{"user":"alice","n":1.5}')
    await kv.delete('a')
    expect(await kv.get('a', 'json')).toBeNull()
  })

  test('expirationTtl becomes the key’s expiry, in seconds', async () => {
    const kv = new RedisKV(client, { prefix: 't2:' })
    await kv.put('s', '1', { expirationTtl: 90 })
    const ttl = await client.ttl('t2:s')
    expect(ttl).toBeGreaterThan(85)
    expect(ttl).toBeLessThanOrEqual(90)
    await kv.put('forever', '1')
    expect(await client.ttl('t2:forever')).toBe(-1)
  })

  test('a TTL that is not a whole positive number of seconds is refused', async () => {
    const kv = new RedisKV(client)
    await expect(kv.put('x', '1', { expirationTtl: 0 })).rejects.toThrow(RangeError)
    await expect(kv.put('x', '1', { expirationTtl: 1.5 })).rejects.toThrow(RangeError)
    expect(await client.exists('edgeio:kv:x')).toBe(0)
  })

  test('a session stored by one process is seen, and its deletion too, by another', async () => {
    const other = new Redis(redis.url)
    try {
      const here = new KVSessionStore(new RedisKV(client))
      const there = new KVSessionStore(new RedisKV(other))
      await here.set('sid', { user: 'alice' }, 3600)
      expect(await there.get('sid')).toEqual({ user: 'alice' })
      await there.delete('sid')
      expect(await here.get('sid')).toBeUndefined()
    } finally {
      other.disconnect()
    }
  })
})
