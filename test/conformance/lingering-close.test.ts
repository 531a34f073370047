/**
 * Node's lingering close (adapters/node/index.ts, lingerOnClose): a connection answered before its
 * request body ended is half-closed after the answer, and what the client still sends is
 * dropped until the client closes its side or a bound cuts it off.
 *
 * The example is served in this process (as node.test.ts does) rather than spawned: the
 * server's own socket is the only place where its release shows (after its FIN, the client
 * sees nothing more when the server lets go), so the tests wait on that socket's 'close'.
 * Raw `node:net` clients with `allowHalfOpen`, so that the server's FIN does not end them.
 */
import { once } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type NodeServer, serve } from '../../adapters/node/index.ts'
import { service } from '../../examples/app.ts'

/** adapters/node/index.ts's bounds (LINGER_MS, LINGER_QUIET_MS, LINGER_MAX_BYTES). */
const LINGER_MS = 5_000
const LINGER_QUIET_MS = 1_000
const LINGER_MAX_BYTES = 16 * 1024 * 1024
/** Node reads a socket at most 64 KiB at a time. */
const READ_BYTES = 64 * 1024
/** Scheduling slack on this (2-CPU, shared) machine for the timing bounds. */
const SLACK_MS = 500

let server: NodeServer
beforeAll(async () => {
  server = await serve(service, {
    port: 0,
    signals: false,
    env: { API_TOKEN: 'lingering-close-token', LOG_LEVEL: 'silent' },
  })
})
afterAll(async () => {
  await server?.close()
})

/**
 * Reads whole answers (framed by Content-Length) off a raw connection, one per call;
 * rejects if the connection closes first.
 */
function answerReader(socket: Socket): () => Promise<string> {
  let buffered = ''
  let pending: { resolve: (answer: string) => void; reject: (error: Error) => void } | undefined
  const deliver = () => {
    const headEnd = buffered.indexOf('\r\n\r\n')
    if (pending === undefined || headEnd === -1) return
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, headEnd))?.[1])
    const end = headEnd + 4 + length
    if (Number.isNaN(length) || buffered.length < end) return
    const answer = buffered.slice(0, end)
    buffered = buffered.slice(end)
    const { resolve } = pending
    pending = undefined
    resolve(answer)
  }
  socket.setEncoding('latin1')
  socket.on('data', (text: string) => {
    buffered += text
    deliver()
  })
  socket.on('close', () => pending?.reject(new Error(`closed before an answer: ${buffered}`)))
  return () =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject }
      deliver()
    })
}

interface RefusedUpload {
  /** The client's end. */
  client: Socket
  /** The server's end of the same connection. */
  peer: Socket
  /** Resolves once the server's end has closed. */
  peerClosed: Promise<unknown>
  answer: string
  /** When the client had read the whole answer (performance.now()). */
  answeredAt: number
}

/**
 * Sends a POST declaring a 100 MB body (over the 1 MiB limit) and its first 64 KiB, and
 * resolves once the client has read the whole 413 and the server's FIN after it.
 */
async function refusedUpload(): Promise<RefusedUpload> {
  const { port } = server.server.address() as AddressInfo
  const accepted = once(server.server, 'connection') as Promise<[Socket]>
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  // Writes after the server's cut-off fail (EPIPE, ECONNRESET): expected by the tests.
  client.on('error', () => {})
  const [peer] = await accepted
  // Not once(): Node destroys the server's end with a parse error when the client ends
  // mid-body, and once() would reject on that 'error'.
  const peerClosed = new Promise((resolve) => peer.once('close', resolve))
  const next = answerReader(client)
  client.write(
    `POST /queue/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n'
  )
  client.write(Buffer.alloc(READ_BYTES, 0x20))
  const answer = await next()
  const answeredAt = performance.now()
  // The server half-closed after its answer.
  if (!client.readableEnded) await once(client, 'end')
  return { client, peer, peerClosed, answer, answeredAt }
}

describe('[node] lingering close after an answer given before the body ended', () => {
  test('the client reads its 413; the server half-closes and holds on while it sends', async () => {
    const { client, peer, peerClosed, answer } = await refusedUpload()
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n')
    expect(answer).toContain('{"error":"Payload Too Large: the limit is 1048576 bytes"}')
    // Not destroyed after the answer (as Node's own close does): still reading.
    expect(peer.destroyed).toBe(false)
    expect(client.writable).toBe(true)
    client.destroy()
    await peerClosed
  })

  test('a client that closes its side is released at once', async () => {
    const { client, peer, peerClosed } = await refusedUpload()
    expect(peer.destroyed).toBe(false)
    const closingAt = performance.now()
    client.end()
    await peerClosed
    const elapsed = performance.now() - closingAt
    console.log(`[node] linger: released ${elapsed.toFixed(0)} ms after the client's FIN`)
    expect(elapsed).toBeLessThan(LINGER_QUIET_MS - SLACK_MS)
    client.destroy()
  })

  test('a client that goes silent is cut off after LINGER_QUIET_MS', async () => {
    const { client, peerClosed, answeredAt } = await refusedUpload()
    await peerClosed
    const elapsed = performance.now() - answeredAt
    console.log(`[node] linger: silent client cut off after ${elapsed.toFixed(0)} ms`)
    // The quiet time counts from the server's answer, a little before the client read it.
    expect(elapsed).toBeGreaterThan(LINGER_QUIET_MS - 200)
    expect(elapsed).toBeLessThan(LINGER_QUIET_MS + SLACK_MS)
    client.destroy()
  })

  test('a client that keeps sending as fast as it can is cut off after LINGER_MAX_BYTES', async () => {
    const { client, peer, peerClosed, answeredAt } = await refusedUpload()
    const chunk = Buffer.alloc(READ_BYTES, 0x20)
    let closed = false
    void peerClosed.then(() => {
      closed = true
    })
    const pump = () => {
      while (!closed && !client.destroyed) {
        if (!client.write(chunk)) {
          client.once('drain', pump)
          return
        }
      }
    }
    pump()
    await peerClosed
    const elapsed = performance.now() - answeredAt
    // Everything the server read: the head, the first 64 KiB, then what it dropped.
    const read = peer.bytesRead
    console.log(
      `[node] linger: flooding client cut off after ${(read / 2 ** 20).toFixed(1)} MiB read, ${elapsed.toFixed(0)} ms`
    )
    expect(read).toBeGreaterThan(LINGER_MAX_BYTES)
    expect(read).toBeLessThanOrEqual(LINGER_MAX_BYTES + 3 * READ_BYTES)
    expect(elapsed).toBeLessThan(LINGER_MS)
    client.destroy()
  })

  test('a client that trickles is cut off after LINGER_MS', async () => {
    const { client, peerClosed, answeredAt } = await refusedUpload()
    // One small chunk every 100 ms: never quiet for LINGER_QUIET_MS, far below the bytes.
    const trickle = setInterval(() => client.write(Buffer.alloc(1024, 0x20)), 100)
    try {
      await peerClosed
    } finally {
      clearInterval(trickle)
    }
    // The linger counts from the server's answer, a little before the client read it.
    const elapsed = performance.now() - answeredAt
    console.log(`[node] linger: trickling client cut off after ${elapsed.toFixed(0)} ms`)
    expect(elapsed).toBeGreaterThan(LINGER_MS - 200)
    expect(elapsed).toBeLessThan(LINGER_MS + 100 + SLACK_MS)
    client.destroy()
  }, 15_000)

  test('a request pipelined after the refused body is dropped, not served', async () => {
    const { port } = server.server.address() as AddressInfo
    const accepted = once(server.server, 'connection') as Promise<[Socket]>
    const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const [peer] = await accepted
    const served: string[] = []
    const onRequest = (request: IncomingMessage) => {
      if (request.socket === peer) served.push(`${request.method} ${request.url}`)
    }
    server.server.on('request', onRequest)
    const peerClosed = new Promise((resolve) => peer.once('close', resolve))
    const next = answerReader(client)
    const host = `127.0.0.1:${port}`
    const body = 2 * 1024 * 1024
    client.write(
      `POST /queue/jobs HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body}\r\n\r\n`
    )
    client.write(Buffer.alloc(body, 0x20))
    client.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    expect(await next()).toMatch(/^HTTP\/1\.1 413 /)
    client.end()
    await peerClosed
    server.server.off('request', onRequest)
    // Everything the server sent has arrived once the client's end closes too.
    if (!client.closed) await once(client, 'close')
    expect(served).toEqual(['POST /queue/jobs'])
    // Read whole (the body and the GET after it), then dropped.
    expect(peer.bytesRead).toBeGreaterThan(body)
  })

  test('a keep-alive connection whose bodies were read whole serves on', async () => {
    const { port } = server.server.address() as AddressInfo
    const accepted = once(server.server, 'connection') as Promise<[Socket]>
    const client = connect({ port, host: '127.0.0.1' })
    const [peer] = await accepted
    const next = answerReader(client)
    const host = `127.0.0.1:${port}`
    for (let i = 0; i < 3; i++) {
      client.write(
        `POST /queue/jobs HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
          'Content-Length: 7\r\n\r\n{"n":2}'
      )
      const answer = await next()
      expect(answer).toMatch(/^HTTP\/1\.1 20\d /)
      expect(answer.toLowerCase()).not.toContain('\r\nconnection: close\r\n')
    }
    client.write(`GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    expect(await next()).toMatch(/^HTTP\/1\.1 200 /)
    expect(peer.destroyed).toBe(false)
    client.destroy()
  })
})
