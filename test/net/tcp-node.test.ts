import { once } from 'node:events'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { getCACertificates, setDefaultCACertificates, createServer as tlsServer } from 'node:tls'
import { Hono } from 'hono'
import { afterEach, describe, expect, test } from 'vitest'
import { runtime } from '../../adapters/node/index.ts'
import { Service } from '../../src/lifecycle/service.ts'
import { ConnectionRefusedError, openConnection } from '../../src/net/connection.ts'
import { createTestCertificates } from '../fixtures/tls.ts'

const servers: Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.close()
  }
})

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection)
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return (server.address() as AddressInfo).port
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of readable) chunks.push(chunk)
  return Buffer.concat(chunks)
}

describe('openConnection on Node', () => {
  // As in a startup hook: through the service, once the Node adapter serves it.
  const service = new Service(new Hono())
  service.attachRuntime(runtime)

  test('writes, reads the echo, and half-closes', async () => {
    const port = await listen((socket) => socket.pipe(socket))
    const conn = await openConnection(service, { hostname: '127.0.0.1', port })
    const writer = conn.writable.getWriter()
    await writer.write(new TextEncoder().encode('hello, pipe'))
    await writer.close() // FIN: the echo server ends its side too
    expect(new TextDecoder().decode(await readAll(conn.readable))).toBe('hello, pipe')
    await conn.closed
  })

  test('TLS: a server whose CA is trusted answers; an untrusted one is refused', async () => {
    const certificates = createTestCertificates()
    const defaults = getCACertificates('default')
    const server = tlsServer({ key: certificates.key, cert: certificates.cert }, (socket) =>
      socket.pipe(socket)
    )
    servers.push(server as unknown as Server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    try {
      // Not trusted yet: the handshake fails, and it is not a refused connection.
      const untrusted = openConnection(service, { hostname: 'localhost', port, tls: true })
      await expect(untrusted).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
      await expect(untrusted).rejects.not.toBeInstanceOf(ConnectionRefusedError)
      // Trusted the way NODE_EXTRA_CA_CERTS does it: added to the default CA list.
      setDefaultCACertificates([...defaults, certificates.ca])
      const conn = await openConnection(service, { hostname: 'localhost', port, tls: true })
      const writer = conn.writable.getWriter()
      await writer.write(new TextEncoder().encode('over tls'))
      await writer.close()
      expect(new TextDecoder().decode(await readAll(conn.readable))).toBe('over tls')
    } finally {
      setDefaultCACertificates(defaults)
      certificates.remove()
    }
  })

  test('a refused connection is a ConnectionRefusedError', async () => {
    const port = await listen(() => {})
    servers.pop()?.close()
    await expect(openConnection(service, { hostname: '127.0.0.1', port })).rejects.toBeInstanceOf(
      ConnectionRefusedError
    )
  })

  test('aborting the signal closes the socket; the peer sees it close', async () => {
    const peerClosed = Promise.withResolvers<void>()
    const port = await listen((socket) => {
      socket.on('close', () => peerClosed.resolve())
      socket.on('error', () => {})
    })
    const controller = new AbortController()
    const conn = await openConnection(service, {
      hostname: '127.0.0.1',
      port,
      signal: controller.signal,
    })
    controller.abort()
    await peerClosed.promise
    await conn.closed
  })

  test('an already-aborted signal rejects at once, before connecting', async () => {
    const reason = new Error('gave up')
    await expect(
      openConnection(service, { hostname: '127.0.0.1', port: 9, signal: AbortSignal.abort(reason) })
    ).rejects.toBe(reason)
  })

  test('bad ports are refused before any I/O', async () => {
    await expect(openConnection(service, { hostname: '127.0.0.1', port: 70_000 })).rejects.toThrow(
      RangeError
    )
  })

  test('backpressure: 50 MB cross without unbounded buffering', async () => {
    const total = 50 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 7)
    let writtenBeforeBackpressure = 0
    const stalled = Promise.withResolvers<void>()
    const port = await listen(async (socket) => {
      let sent = 0
      let stalledOnce = false
      while (sent < total) {
        const ok = socket.write(chunk)
        sent += chunk.length
        if (!ok) {
          if (!stalledOnce) {
            stalledOnce = true
            writtenBeforeBackpressure = sent
            stalled.resolve()
          }
          await once(socket, 'drain')
        }
      }
      socket.end()
    })
    const conn = await openConnection(service, { hostname: '127.0.0.1', port })
    // Nobody reads yet: the sender must be held back by TCP, not buffer 50 MB in memory.
    await stalled.promise
    expect(writtenBeforeBackpressure).toBeLessThan(16 * 1024 * 1024)
    let received = 0
    for await (const part of conn.readable) received += part.byteLength
    expect(received).toBe(total)
  })
})
