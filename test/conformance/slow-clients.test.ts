import { connect } from 'node:net'
import { describe, expect, test } from 'vitest'
import { eventually } from './client.ts'
import { startServer } from './spawn.ts'

/**
 * Writes `head` (and an optional body start) on a raw connection and never sends the rest;
 * resolves with everything the server sent once it closed the connection.
 */
function stalledRequest(url: string, bytes: string, waitForClose = true): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    let received = ''
    const socket = connect(Number(port), hostname, () => socket.write(bytes))
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (!waitForClose && received.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(received)
      }
    })
    socket.on('close', () => resolve(received))
    socket.on('error', reject)
  })
}

const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1])

describe.each(['node', 'deno', 'bun'] as const)(
  'slow clients and stray rejections [%s]',
  (runtime) => {
    test('a chunked body that stops arriving is answered 408 and the connection closed', async () => {
      const server = await startServer(runtime, {
        BODY_TIMEOUT_MS: '200',
        HEADERS_TIMEOUT_MS: '200',
      })
      try {
        const host = new URL(server.url).host
        const raw = await stalledRequest(
          server.url,
          `POST /hash HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\n` +
            'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
          // Deno answers the 408 with `connection: close` but keeps the socket open while
          // the client still sends nothing (Deno 2.9.6; Deno.serve shows no connection to
          // close): there the test stops at the answer. Measured: cancelling the body, leaving
          // it unread, or answering with no read pending all left it open after 3 s; a 408
          // whose body errors does make Deno drop the connection, but only by cutting the 408
          // short (before its Content-Length, or before the final chunk), so it is not done.
          // Bun closes it, as Node does.
          runtime !== 'deno'
        )
        console.log(
          `[${runtime}] stalled chunked body: ${JSON.stringify(raw.split('\r\n')[0])}${runtime !== 'deno' ? ', then closed' : ' (Deno leaves the socket open)'}`
        )
        expect(statusOf(raw)).toBe(408)
        expect(raw.toLowerCase()).toContain('connection: close')
        // The server serves on.
        expect((await fetch(`${server.url}/slow?ms=0`)).status).toBe(200)
      } finally {
        server.child.kill('SIGTERM')
        await server.exited
      }
    })

    // A small declared body skips the per-request guarding stream (its cost, see
    // SMALL_BODY_BYTES). Node bounds it by the socket's inactivity timeout and closes the
    // connection. Deno and Bun have no such timeout to give it: bounding the body's reads
    // instead (a prototype with guarded readers per request) cost Deno's POST /echo ~40 %
    // more CPU and ~45 % more RSS under load (npm run bench, 2026-12-04), so it is not done
    // there, as docs/limits.md says.
    test.skipIf(runtime !== 'node')(
      'a small Content-Length body that stops arriving has its connection closed',
      async () => {
        const server = await startServer(runtime, { BODY_TIMEOUT_MS: '200' })
        try {
          const host = new URL(server.url).host
          const raw = await stalledRequest(
            server.url,
            `POST /hash HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\n` +
              'Content-Length: 100\r\n\r\nhello'
          )
          console.log(`[${runtime}] stalled small body: closed after ${raw.length} bytes of answer`)
          // The server serves on.
          expect((await fetch(`${server.url}/slow?ms=0`)).status).toBe(200)
        } finally {
          server.child.kill('SIGTERM')
          await server.exited
        }
      }
    )

    // Deno.serve has no header-read timeout and no hook to add one: with Deno 2.9.6 a
    // partial request head, and a connection that sent nothing at all, were both still
    // open after 65 s. Bun closes a connection whose head is not complete after ~10 s
    // (12–13 s measured with Bun 1.4.5, even with a byte every second), without a 408, and
    // `headersTimeout` cannot change that.
    test.skipIf(runtime !== 'node')('a request head that never ends is answered 408', async () => {
      const server = await startServer(runtime, {
        BODY_TIMEOUT_MS: '200',
        HEADERS_TIMEOUT_MS: '200',
      })
      try {
        const host = new URL(server.url).host
        const raw = await stalledRequest(
          server.url,
          `GET /slow HTTP/1.1\r\nHost: ${host}\r\nX-Slow: 1`
        )
        console.log(
          `[${runtime}] stalled head: ${JSON.stringify(raw.split('\r\n')[0])}, then closed`
        )
        expect(statusOf(raw)).toBe(408)
      } finally {
        server.child.kill('SIGTERM')
        await server.exited
      }
    })

    test('a stray rejection is logged, and the server serves on', async () => {
      const server = await startServer(runtime, {})
      try {
        expect((await fetch(`${server.url}/fault/stray-rejection`)).status).toBe(200)
        await eventually(async () =>
          expect(server.stderr()).toMatch(
            /edgeio: unhandled promise rejection:[\s\S]*stray rejection/
          )
        )
        expect((await fetch(`${server.url}/slow?ms=0`)).status).toBe(200)
        server.child.kill('SIGTERM')
        expect(await server.exited).toBe(0)
      } finally {
        server.child.kill('SIGTERM')
        await server.exited
      }
    })
  }
)
