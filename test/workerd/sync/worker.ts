// One route per primitive, each backed by a primitive created at module level and shared by
// every request of the isolate: the setting in which workerd cancels a request that waits
// on a promise resolved by another request (see docs/primitives.md, "workerd").
import {
  Barrier,
  Condition,
  configurePrimitives,
  Event,
  Lock,
  Queue,
  Semaphore,
} from '../../../src/sync/index.ts'

interface Ctx {
  waitUntil(promise: Promise<unknown>): void
}

let lock = new Lock()
let sem = new Semaphore(3)
let event = new Event()
let gate = new Event()
let cond = new Condition()
let condItems: number[] = []
let barrier = new Barrier(10)
let queue = new Queue<number>({ maxsize: 2 })
let inside = 0
let maxInside = 0
// Requests that found their primitive busy and had to park: proves the waits happened.
let parked = 0

function reset(): void {
  lock = new Lock()
  sem = new Semaphore(3)
  event = new Event()
  gate = new Event()
  cond = new Condition()
  condItems = []
  barrier = new Barrier(10)
  queue = new Queue<number>({ maxsize: 2 })
  inside = 0
  maxInside = 0
  parked = 0
}

// A critical section that yields to other requests: until another request opens the gate
// (`gate=1`, itself a cross-request wait), or for `ms` on this request's own timer.
async function critical(ms: number, gated: boolean): Promise<void> {
  inside++
  maxInside = Math.max(maxInside, inside)
  if (gated) await gate.wait()
  else await new Promise((r) => setTimeout(r, ms))
  inside--
}

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status })
}

export default {
  async fetch(request: Request, _env: unknown, ctx: Ctx): Promise<Response> {
    const url = new URL(request.url)
    const q = url.searchParams
    const hold = Number(q.get('hold') ?? 2)
    const gated = q.get('gate') === '1'
    try {
      switch (url.pathname) {
        case '/config': {
          reset()
          const patch: { keepAlive?: boolean; stallLimitMs?: number } = {}
          if (q.has('keepAlive')) patch.keepAlive = q.get('keepAlive') === '1'
          if (q.has('stall')) patch.stallLimitMs = Number(q.get('stall'))
          return json(configurePrimitives(patch))
        }
        case '/state':
          return json({ inside, maxInside, parked, lockWaiting: lock.waiting, locked: lock.locked })
        case '/lock':
          if (lock.locked) parked++
          await lock.run(() => critical(hold, gated))
          return json({ ok: true, maxInside })
        case '/semaphore':
          if (sem.locked) parked++
          await sem.run(() => critical(hold, gated))
          return json({ ok: true, maxInside })
        case '/event/wait':
          if (!event.isSet()) parked++
          await event.wait()
          return json({ ok: true })
        case '/event/set':
          event.set()
          return json({ ok: true })
        case '/condition/get': {
          if (condItems.length === 0) parked++
          const item = await cond.run(async () => {
            await cond.waitFor(() => condItems.length > 0)
            return condItems.shift()
          })
          return json({ item })
        }
        case '/condition/put':
          await cond.run(() => {
            condItems.push(Number(q.get('item')))
            cond.notify()
          })
          return json({ ok: true })
        case '/barrier':
          parked++
          return json({ index: await barrier.wait() })
        case '/queue/get':
          if (queue.empty) parked++
          return json({ item: await queue.get() })
        case '/queue/put':
          if (queue.full) parked++
          await queue.put(Number(q.get('item')))
          return json({ ok: true })
        case '/lock/hold-then-release-in-waitUntil': {
          // Responds at once; the lock is released later by work kept alive by waitUntil,
          // once another request opens the gate (itself a cross-request wait).
          await lock.acquire()
          ctx.waitUntil(gate.wait().then(() => lock.release()))
          return json({ ok: true })
        }
        case '/lock/fire-and-forget':
          // Not awaited and not in waitUntil: the grant will land after this request ended,
          // in a dead context whose continuation (the release) never runs.
          void lock.acquire().then(() => lock.release())
          return json({ ok: true })
        case '/gate':
          gate.set()
          return json({ ok: true })
        case '/lock/leak':
          // The case that cannot work: the lock is taken and the request ends without
          // releasing it (or releases it outside waitUntil, where it never runs).
          await lock.acquire()
          return json({ ok: true })
        default:
          return json({ error: 'not found' }, 404)
      }
    } catch (error) {
      const e = error as Error
      return json({ error: e.name, message: e.message }, 500)
    }
  },
}
