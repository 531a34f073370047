import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the test upstream does with one request; it may wait on anything. */
export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>

/**
 * A local HTTP upstream on an ephemeral port that counts requests in flight (from arrival
 * until the response has finished or the connection closed), remembers the peak, the
 * arrival times and the requests whose connection closed before they were answered.
 */
export interface Upstream {
  readonly url: string
  readonly origin: string
  /** Requests received so far. */
  readonly count: number
  readonly inFlight: number
  readonly peak: number
  /** performance.now() of each arrival. */
  readonly arrivals: number[]
  /** Methods of each arrival. */
  readonly methods: string[]
  /** Requests whose connection closed before their response finished. */
  readonly disconnects: number
  /** Resolves at the next arrival. */
  nextRequest(): Promise<void>
  /** Resolves at the next disconnect of an unanswered request. */
  nextDisconnect(): Promise<void>
  handle(handler: Handler): void
  close(): Promise<void>
}

export async function startUpstream(initial?: Handler): Promise<Upstream> {
  let handler: Handler =
    initial ??
    ((_req, res) => {
      res.end('ok')
    })
  let count = 0
  let inFlight = 0
  let peak = 0
  let disconnects = 0
  const arrivals: number[] = []
  const methods: string[] = []
  let onRequest: (() => void)[] = []
  let onDisconnect: (() => void)[] = []
  const server: Server = createServer((req, res) => {
    const n = count++
    arrivals.push(performance.now())
    methods.push(req.method ?? '')
    inFlight++
    peak = Math.max(peak, inFlight)
    let open = true
    const leave = (): void => {
      if (!open) return
      open = false
      inFlight--
    }
    res.on('finish', leave)
    res.on('close', () => {
      if (!res.writableFinished) {
        disconnects++
        for (const f of onDisconnect.splice(0)) f()
      }
      leave()
    })
    for (const f of onRequest.splice(0)) f()
    Promise.resolve(handler(req, res, n)).catch((error: unknown) => {
      res.destroy(error as Error)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  return {
    url: `${origin}/`,
    origin,
    get count() {
      return count
    },
    get inFlight() {
      return inFlight
    },
    get peak() {
      return peak
    },
    arrivals,
    methods,
    get disconnects() {
      return disconnects
    },
    nextRequest: () => new Promise((resolve) => onRequest.push(resolve)),
    nextDisconnect: () => new Promise((resolve) => onDisconnect.push(resolve)),
    handle(h) {
      handler = h
    },
    close() {
      onRequest = []
      onDisconnect = []
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** A promise and its resolver: the upstream waits on it until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}
