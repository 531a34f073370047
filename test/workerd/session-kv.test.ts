import { env, exports } from 'cloudflare:workers'
import { expect, test } from 'vitest'

// In workerd the example keeps sessions in the SESSIONS KV namespace (wrangler.toml): the
// cookie carries only a sealed id, and the data is in KV where every isolate sees it.
const worker = (exports as unknown as { default: Fetcher }).default
const kv = (env as unknown as { SESSIONS: KVNamespace }).SESSIONS

test('a log-in stores the session in Workers KV and a log-out deletes it', async () => {
  const before = (await kv.list({ prefix: 'session:' })).keys.length
  const login = await worker.fetch(
    new Request('http://edgeio.test/login', {
      method: 'POST',
      headers: { origin: 'http://edgeio.test' },
      body: new URLSearchParams({ username: 'bob', password: 'builder' }),
    })
  )
  expect(login.status).toBe(200)
  const cookie = login.headers.getSetCookie()[0]?.split(';')[0] ?? ''
  const keys = (await kv.list({ prefix: 'session:' })).keys
  expect(keys.length).toBe(before + 1)
  const stored = await Promise.all(keys.map((key) => kv.get(key.name, 'json')))
  expect(stored).toContainEqual({ identity: 'bob' })

  const logout = await worker.fetch(
    new Request('http://edgeio.test/logout', {
      method: 'POST',
      headers: { origin: 'http://edgeio.test', cookie },
    })
  )
  expect(logout.status).toBe(204)
  expect((await kv.list({ prefix: 'session:' })).keys.length).toBe(before)
})
