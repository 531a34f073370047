/**
 * Requests made as a given client: from a chosen client address (each case's own, so that
 * per-address limits do not mix across cases and runs), or logged in.
 */
import { expect } from 'vitest'
import type { Client } from './client.ts'

export interface FromAddress {
  status: number
  headers: Headers
  body: string
}

/** A loopback address (127.0.0.0/8) no other case or run uses, to stand for one client. */
export function uniqueAddress(): string {
  const n = 1 + Math.floor(Math.random() * 0xfffffe)
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}

/**
 * GETs `path` as the client at `address`. On Node and Deno the request really comes from
 * it (a loopback source address: the server keys on the socket's peer); in workerd, whose
 * client address is `CF-Connecting-IP` (set by Cloudflare's edge, by the test locally).
 */
export async function getFrom(
  client: Client,
  address: string,
  path: string,
  headers: Record<string, string> = {}
): Promise<FromAddress> {
  if (client.runtime === 'workerd') {
    const res = await client.fetch(path, { headers: { ...headers, 'cf-connecting-ip': address } })
    return { status: res.status, headers: res.headers, body: await res.text() }
  }
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = request(`${client.origin}${path}`, { localAddress: address, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        const out = new Headers()
        for (const [name, value] of Object.entries(res.headers)) {
          if (typeof value === 'string') out.set(name, value)
        }
        resolve({ status: res.statusCode ?? 0, headers: out, body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The `name=value` part of a response's session cookie, to send back. */
export function sessionCookie(res: Response): string {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('edgeio.session='))
  return cookie?.split(';')[0] ?? ''
}

/** Logs in through the form and returns the session cookie to send. */
export async function login(client: Client, username: string, password: string): Promise<string> {
  const res = await client.fetch('/login', {
    method: 'POST',
    headers: { origin: client.origin },
    body: new URLSearchParams({ username, password }),
  })
  expect(res.status).toBe(200)
  await res.body?.cancel()
  return sessionCookie(res)
}
