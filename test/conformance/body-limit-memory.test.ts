/**
 * The body limit's memory figure (issue 12, item 1): eight concurrent 100 MB uploads to the
 * example's `POST /login` and `POST /queue/jobs`, routes with no limit of their own, against
 * a server process of its own, whose resident memory is read from /proc before and after.
 * Before the default limit, four such uploads took Node from 163 MB to 1.16 GB.
 *
 * A file of its own rather than a conformance case: the Node conformance runner serves the
 * example inside the test process, whose memory holds the client's too. Deno runs the same
 * figure; workerd runs behind wrangler's proxy in the test process (the conformance cases
 * check its 413s).
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { afterEach, describe, expect, test } from 'vitest'
import { type ServerProcess, startServer } from './spawn.ts'

const MB = 1_000_000
const UPLOAD_BYTES = 100 * MB
const UPLOADS = 8
/** What the server may grow by, at its peak, while refusing all eight (measured: see below). */
const BOUND_MIB = 64

/** A field of /proc/<pid>/status, in MiB. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(match[1]) / 1024
}

interface Upload {
  status: number | undefined
  body: string
  sent: number
  /** How the connection failed before an answer was read (ECONNRESET, EPIPE), if it did. */
  error: string | undefined
}

/**
 * POSTs up to 100 MB to `path`, honouring backpressure, until all is sent or the server
 * answers and ends the connection; `declared` sends a Content-Length, otherwise chunked.
 */
function upload(
  url: string,
  path: string,
  headers: Record<string, string>,
  declared: boolean
): Promise<Upload> {
  return new Promise((resolve) => {
    const result: Upload = { status: undefined, body: '', sent: 0, error: undefined }
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      resolve(result)
    }
    const req = request(new URL(path, url), {
      method: 'POST',
      headers: declared ? { ...headers, 'content-length': String(UPLOAD_BYTES) } : headers,
    })
    req.on('response', (res) => {
      result.status = res.statusCode
      res.setEncoding('utf8')
      res.on('data', (text: string) => {
        result.body += text
      })
      res.on('end', () => {
        // The answer is in: stop sending (the server drops the connection anyway).
        req.destroy()
        finish()
      })
    })
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server closed the connection under the upload before its answer was read.
      if (result.status === undefined) result.error = error.code ?? error.message
      finish()
    })
    req.on('close', finish)
    const pump = () => {
      while (!done && !req.destroyed && result.sent < UPLOAD_BYTES) {
        const size = Math.min(chunk.length, UPLOAD_BYTES - result.sent)
        result.sent += size
        if (!req.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
          req.once('drain', pump)
          return
        }
      }
      if (!done && !req.destroyed) req.end()
    }
    pump()
  })
}

let server: ServerProcess | undefined
afterEach(async () => {
  server?.child.kill('SIGTERM')
  await server?.exited
  server = undefined
})

describe('body limit: memory under eight concurrent 100 MB uploads', () => {
  for (const runtime of ['node', 'deno', 'bun'] as const) {
    test(`[${runtime}] the server's RSS stays within ${BOUND_MIB} MiB of where it was`, async () => {
      server = await startServer(runtime, { API_TOKEN: 'body-limit-token' })
      const { url } = server
      const pid = server.child.pid as number
      // Warm up: the routes, the form and JSON parsers, the session middleware.
      for (let i = 0; i < 20; i++) {
        const res = await fetch(new URL('/login', url), {
          method: 'POST',
          headers: { origin: new URL(url).origin },
          body: new URLSearchParams({ username: 'alice', password: 'wrong' }),
        })
        await res.body?.cancel()
        const job = await fetch(new URL('/queue/jobs', url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"n":2}',
        })
        await job.body?.cancel()
      }
      const before = procStatus(pid, 'VmRSS')
      const uploads = await Promise.all(
        Array.from({ length: UPLOADS }, (_, i) =>
          i % 2 === 0
            ? upload(
                url,
                '/login',
                {
                  origin: new URL(url).origin,
                  'content-type': 'application/x-www-form-urlencoded',
                },
                i % 4 === 0
              )
            : upload(url, '/queue/jobs', { 'content-type': 'application/json' }, i % 4 === 1)
        )
      )
      const after = procStatus(pid, 'VmRSS')
      const peak = procStatus(pid, 'VmHWM')
      const sentMB = uploads.map((u) => (u.sent / MB).toFixed(1)).join(', ')
      const outcomes = uploads.map((u) => u.status ?? u.error).join(', ')
      console.log(
        `[${runtime}] ${UPLOADS} × 100 MB uploads: ${outcomes}; ` +
          `client wrote ${sentMB} MB before the server answered and closed; server RSS ` +
          `${before.toFixed(0)} MiB before, ${after.toFixed(0)} MiB after, peak ${peak.toFixed(0)} MiB`
      )
      // Every client reads its 413 while still sending: the server closes a connection
      // answered before its body ended only after it (a lingering close on Node), never
      // with a reset (EPIPE, ECONNRESET) that would come before the answer is read.
      for (const u of uploads) {
        expect(u.error).toBeUndefined()
        expect(u.status).toBe(413)
        expect(JSON.parse(u.body)).toEqual({
          error: 'Payload Too Large: the limit is 1048576 bytes',
        })
      }
      expect(peak - before).toBeLessThan(BOUND_MIB)
      expect(after - before).toBeLessThan(BOUND_MIB)
      // And the server still answers.
      expect((await fetch(new URL('/health', url))).status).toBe(200)
    }, 120_000)
  }
})
