/**
 * Conformance cases of the service's default body limit (1 MiB, src/lifecycle/body-limit.ts)
 * on the example's routes that have no limit of their own: `POST /login` (a form) and
 * `POST /queue/jobs` (JSON). Issue 12: both used to read any body whole.
 */
import { expect } from 'vitest'
import type { ConformanceCase } from './cases.ts'

const MiB = 1024 * 1024
const TOO_LARGE = { error: `Payload Too Large: the limit is ${MiB} bytes` }

/** A body stream of `size` bytes of `fill` in 64 KiB chunks: no Content-Length, so chunked. */
function chunked(size: number, fill = 0x61): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close()
      const chunk = new Uint8Array(Math.min(64 * 1024, size - sent)).fill(fill)
      sent += chunk.length
      controller.enqueue(chunk)
    },
  })
}

/** A urlencoded log-in form whose password field makes it `size` bytes long. */
function loginForm(size: number): string {
  const head = 'username=alice&password='
  return head + 'a'.repeat(size - head.length)
}

/** A job whose ignored `pad` field makes its JSON `size` bytes long. */
function jobJson(size: number): string {
  const head = '{"n":3,"pad":"'
  return `${head}${'a'.repeat(size - head.length - 2)}"}`
}

export const bodyLimitCases: ConformanceCase[] = [
  {
    name: 'body limit: a 2 MiB POST /login is a 413 with the JSON error (default 1 MiB)',
    async run(client) {
      const res = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: client.origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: loginForm(2 * MiB),
      })
      expect(res.status).toBe(413)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual(TOO_LARGE)
    },
  },
  {
    name: 'body limit: a 2 MiB POST /queue/jobs is a 413 with the JSON error',
    async run(client) {
      const res = await client.fetch('/queue/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jobJson(2 * MiB),
      })
      expect(res.status).toBe(413)
      expect(await res.json()).toEqual(TOO_LARGE)
    },
  },
  {
    name: 'body limit: bodies just under 1 MiB still reach /login and /queue/jobs',
    async run(client) {
      const login = await client.fetch('/login', {
        method: 'POST',
        headers: { origin: client.origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: loginForm(MiB - 1024),
      })
      expect(login.status).toBe(401) // read whole, and the password is wrong
      await login.body?.cancel()
      const job = await client.fetch('/queue/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: jobJson(MiB - 1024),
      })
      expect(job.status).toBe(202)
      await job.body?.cancel()
    },
  },
  {
    name: 'body limit: a chunked 2 MiB body is refused while streaming (413)',
    async run(client) {
      for (const [path, headers] of [
        ['/queue/jobs', { 'content-type': 'application/json' }],
        ['/login', { origin: client.origin, 'content-type': 'application/x-www-form-urlencoded' }],
      ] as const) {
        const res = await client.fetch(path, {
          method: 'POST',
          headers,
          body: chunked(2 * MiB),
          duplex: 'half',
        } as RequestInit)
        expect(res.status, path).toBe(413)
        expect(await res.json()).toEqual(TOO_LARGE)
      }
    },
  },
]
