import { Agent, request } from 'node:http'
import type { Socket } from 'node:net'
import { describe, expect, test } from 'vitest'
import { startServer } from './spawn.ts'

const CONNECTIONS = 32
/** Requests completed before SIGTERM is sent: the server is under load by then. */
const WARM_UP = 400

interface Outcome {
  socket: Socket | undefined
  connection: string | undefined
  error: NodeJS.ErrnoException | undefined
  afterSigterm: boolean
}

/** One GET on the keep-alive agent: its status line's `Connection`, or how it failed. */
function get(agent: Agent, url: string, sigtermSent: () => boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    let socket: Socket | undefined
    const req = request(url, { agent }, (res) => {
      res.resume()
      res.on('end', () =>
        resolve({
          socket,
          connection: res.headers.connection,
          error: undefined,
          afterSigterm: sigtermSent(),
        })
      )
      res.on('error', (error) =>
        resolve({ socket, connection: undefined, error, afterSigterm: sigtermSent() })
      )
    })
    req.on('socket', (s) => {
      socket = s
    })
    req.on('error', (error) =>
      resolve({ socket, connection: undefined, error, afterSigterm: sigtermSent() })
    )
    req.end()
  })
}

describe.each(['node', 'deno', 'bun'] as const)(
  'shutdown under keep-alive load [%s]',
  (runtime) => {
    test('SIGTERM mid-load: no accepted request fails, drain answers say Connection: close, exit 0', async () => {
      const server = await startServer(runtime, {})
      const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
      let sigtermAt: number | undefined
      const sigtermSent = () => sigtermAt !== undefined
      let completed = 0
      const warmedUp = Promise.withResolvers<void>()
      const failures: string[] = []
      let refused = 0
      let closeAnswers = 0
      let keepAliveAfterSigterm = 0
      let lastAnswerAt = 0
      // Per connection: did its last answer after SIGTERM say `Connection: close`?
      const lastAfterSigterm = new Map<Socket, string | undefined>()

      async function client(id: number): Promise<void> {
        for (let i = 0; ; i++) {
          // Mixed durations, so that some requests are in flight when the drain begins.
          const outcome = await get(
            agent,
            `${server.url}/slow?ms=${(id + i) % 3 === 0 ? 10 : 0}`,
            sigtermSent
          )
          if (outcome.error) {
            // Refused: the listener had closed before the request could connect. Not a
            // request the server accepted, and the end of this client's load.
            if (outcome.error.code === 'ECONNREFUSED') {
              refused++
              return
            }
            failures.push(`${outcome.error.code ?? ''} ${outcome.error.message}`)
            return
          }
          completed++
          if (completed === WARM_UP) warmedUp.resolve()
          if (outcome.connection === 'close') closeAnswers++
          if (outcome.afterSigterm) {
            lastAnswerAt = performance.now()
            if (outcome.connection !== 'close') keepAliveAfterSigterm++
            if (outcome.socket) lastAfterSigterm.set(outcome.socket, outcome.connection)
          }
        }
      }

      const clients = Array.from({ length: CONNECTIONS }, (_, id) => client(id))
      await warmedUp.promise
      const completedBefore = completed
      sigtermAt = performance.now()
      server.child.kill('SIGTERM')
      await Promise.all(clients)
      const exitCode = await server.exited
      const exitedAfter = performance.now() - sigtermAt
      agent.destroy()

      const endedOpen = [...lastAfterSigterm.values()].filter((c) => c !== 'close').length
      console.log(
        `[${runtime}] shutdown under load: ${completed} requests completed (${completed - completedBefore} after SIGTERM), ` +
          `${failures.length} failed, ${closeAnswers} answered with Connection: close, ` +
          `${keepAliveAfterSigterm} keep-alive answers received after SIGTERM (written before the drain began), ` +
          `${refused} clients refused at connect, last answer ${(lastAnswerAt - sigtermAt).toFixed(0)} ms ` +
          `and exit ${exitedAfter.toFixed(0)} ms after SIGTERM`
      )
      // Deno: its shutdown() closes idle keep-alive connections at once, so the adapter holds
      // the answers to requests arriving during the drain until it has called shutdown()
      // after a quiet window; the clients then find the listener closed (ECONNREFUSED).
      expect(failures).toEqual([])
      // A client stops at a `Connection: close` answer or at a failure, so a connection whose
      // last answer after SIGTERM kept it alive is one whose next request failed: none.
      expect(endedOpen).toBe(0)
      expect(closeAnswers).toBeGreaterThan(0)
      expect(exitCode).toBe(0)
      expect(server.stderr()).not.toMatch(/still in flight/)
    })
  }
)
