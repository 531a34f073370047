/**
 * Fuzzing of the example's parsing paths, on every runtime, with fast-check: random and
 * mutated JSON, forms (urlencoded and multipart), cookies, headers, paths and WebSocket
 * messages. Invariants: no malformed request gets a 5xx, no response header carries the
 * request's raw input (a marker is planted in every generated value), and the service still
 * answers afterwards. Runs are bounded (a few hundred requests a case) and seeded from
 * fast-check's default, which it prints with the counterexample when a case fails.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import WebSocket from 'ws'
import type { ConformanceCase } from './cases.ts'
import type { Client } from './client.ts'

/** Planted in generated input; no response header may contain it. */
const MARKER = 'fzq7'
const RUNS = 120

/** Text that carries the marker somewhere, with the awkward characters that break parsers. */
const marked = fc
  .tuple(
    fc.string({ unit: 'binary', maxLength: 24 }),
    fc.string({
      unit: fc.constantFrom('"', '\\', '%', '&', '=', ';', ',', '{', '[', '\u0000'),
      maxLength: 6,
    })
  )
  .map(([text, awkward]) => `${text}${MARKER}${awkward}`)

/** Valid JSON, and JSON cut or spliced at a random point. */
const jsonBodies = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .record({ text: marked, tags: fc.array(fc.oneof(marked, fc.integer()), { maxLength: 3 }) })
    .map((note) => JSON.stringify(note)),
  fc
    .tuple(fc.json({ maxDepth: 3 }), fc.nat(), marked)
    .map(([json, at, junk]) => json.slice(0, at % (json.length + 1)) + junk)
)

/** Header values fetch accepts (visible ASCII and spaces), with the marker. */
const headerValue = fc
  .string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 40,
  })
  .map((text) => `${text}${MARKER}`.trim())
const headerName = fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)

/** Path segments: percent-encoded bytes, dot segments, unicode, the marker. */
const pathSegment = fc.oneof(
  marked.map(encodeURIComponent),
  fc.constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%ff', '%', '%zz', '~', '@', ':'),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((text) => encodeURIComponent(text + MARKER))
)
const paths = fc
  .tuple(
    fc.constantFrom('/', '/notes/', '/hello/', '/static/', '/jobs/', '/queue/jobs/'),
    fc.array(pathSegment, { minLength: 1, maxLength: 4 })
  )
  .map(([base, segments]) => base + segments.join('/'))

/** The invariants every fuzzed response must hold. */
async function check(response: Response, what: string): Promise<void> {
  await response.body?.cancel()
  expect(response.status, `${what}: a malformed request must not be a server error`).toBeLessThan(
    500
  )
  for (const [name, value] of response.headers) {
    expect(value, `${what}: response header ${name} reflects the request`).not.toContain(MARKER)
  }
}

/** The service still answers: whatever was sent did not take it down. */
async function stillServing(client: Client): Promise<void> {
  const health = await client.fetch('/health')
  expect(health.status).toBe(200)
  await health.body?.cancel()
}

/** Runs `property` with the suite's bounds, then checks the service is still up. */
async function fuzz<T>(
  client: Client,
  arbitrary: fc.Arbitrary<T>,
  send: (value: T) => Promise<void>
) {
  await fc.assert(fc.asyncProperty(arbitrary, send), { numRuns: RUNS })
  await stillServing(client)
}

export const fuzzCases: ConformanceCase[] = [
  {
    name: 'fuzz: random and mutated JSON to a validated JSON route never gets a 5xx',
    run: (client) =>
      fuzz(client, jsonBodies, async (body) => {
        const response = await client.fetch('/notes', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        await check(response, `POST /notes ${JSON.stringify(body)}`)
      }),
  },
  {
    name: 'fuzz: urlencoded and multipart forms, well-formed or not, never get a 5xx',
    run: (client) =>
      fuzz(
        client,
        fc.oneof(
          fc.array(fc.tuple(marked, marked), { maxLength: 4 }).map((pairs) => ({
            type: 'application/x-www-form-urlencoded',
            body: pairs
              .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
              .join('&'),
          })),
          marked.map((raw) => ({ type: 'application/x-www-form-urlencoded', body: raw })),
          fc.tuple(marked, marked, fc.boolean()).map(([field, value, closed]) => ({
            type: 'multipart/form-data; boundary=fuzzbound',
            body: `--fuzzbound\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n${closed ? '--fuzzbound--\r\n' : ''}`,
          })),
          headerValue.map((raw) => ({ type: `multipart/form-data; boundary=${raw}`, body: raw }))
        ),
        async ({ type, body }) => {
          const response = await client.fetch('/form', {
            method: 'POST',
            headers: { 'content-type': type },
            body,
          })
          await check(response, `POST /form (${type}) ${JSON.stringify(body)}`)
        }
      ),
  },
  {
    name: 'fuzz: random cookies (session and others) never get a 5xx or reflect into headers',
    run: (client) =>
      fuzz(
        client,
        fc.tuple(
          fc.constantFrom('edgeio.session', 'visits', 'x'),
          headerValue,
          fc.constantFrom('/me', '/whoami', '/')
        ),
        async ([name, value, path]) => {
          const response = await client.fetch(path, { headers: { cookie: `${name}=${value}` } })
          await check(response, `GET ${path} cookie ${name}=${value}`)
        }
      ),
  },
  {
    name: 'fuzz: random header names and values never get a 5xx or reflect into headers',
    run: (client) =>
      fuzz(
        client,
        fc.tuple(
          fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
          fc.option(headerValue, { nil: undefined }),
          fc.constantFrom('/', '/whoami', '/notes', '/health')
        ),
        async ([headers, auth, path]) => {
          const response = await client.fetch(path, {
            headers: {
              ...headers,
              ...(auth === undefined
                ? {}
                : { authorization: auth, 'x-api-key': auth, 'x-forwarded-for': auth }),
            },
          })
          await check(response, `GET ${path} with ${JSON.stringify({ headers, auth })}`)
        }
      ),
  },
  {
    name: 'fuzz: random paths never get a 5xx or reflect into headers',
    run: (client) =>
      fuzz(
        client,
        fc.tuple(paths, fc.constantFrom('GET', 'HEAD', 'DELETE', 'OPTIONS')),
        async ([path, method]) => {
          const response = await client.fetch(path, { method })
          await check(response, `${method} ${path}`)
        }
      ),
  },
  {
    name: 'fuzz: random WebSocket messages are answered or refused, and the service goes on',
    run: async (client) => {
      const url = new URL('/ws/echo', client.origin.replace(/^http/, 'ws')).href
      const socket = new WebSocket(url)
      await new Promise((resolve, reject) => {
        socket.once('open', resolve)
        socket.once('error', reject)
      })
      // One socket, messages in order: each gets its echo (the route caps messages at 4 KiB).
      let pending: { resolve(reply: string): void; reject(error: Error): void } | undefined
      socket.on('message', (reply) => pending?.resolve(String(reply)))
      socket.on('close', (code) => pending?.reject(new Error(`socket closed with ${code}`)))
      await fc.assert(
        fc.asyncProperty(fc.oneof(marked, fc.uint8Array({ maxLength: 512 })), async (message) => {
          const reply = new Promise<string>((resolve, reject) => {
            pending = { resolve, reject }
          })
          socket.send(message)
          expect(await reply).toMatch(/^echo: /)
        }),
        { numRuns: RUNS }
      )
      socket.removeAllListeners('close')
      socket.close()
      await stillServing(client)
    },
  },
]
