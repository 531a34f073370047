// Model-based property tests: random interleavings of acquire / release / put / get / abort
// (including an abort landing in the same tick as a grant) run against the real primitives
// and against a few lines of reference model. After every step, with microtasks flushed:
// same grants in the same (FIFO) order, nothing granted twice, items conserved, and no
// waiter parked while a permit or an item is free.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Lock, Queue, Semaphore } from '../../src/sync/index.ts'
import { flush } from './helpers.ts'

// ---------- Semaphore / Lock ----------

interface Permits {
  acquire(opts?: { signal?: AbortSignal }): Promise<void>
  release(): void
  readonly waiting: number
  free(): number
}

interface SemModel {
  permits: number
  queue: { id: number; signalled: boolean }[]
  holders: number
  granted: number[]
  rejected: number[]
  nextId: number
}

interface SemReal {
  sem: Permits
  granted: number[]
  rejected: number[]
  controllers: Map<number, AbortController>
}

type SemCmd = fc.AsyncCommand<SemModel, SemReal>

function passOn(m: SemModel): void {
  const next = m.queue.shift()
  if (next === undefined) m.permits++
  else {
    m.holders++
    m.granted.push(next.id)
  }
}

async function checkSem(m: SemModel, r: SemReal): Promise<void> {
  await flush()
  expect(r.granted).toEqual(m.granted)
  expect(new Set(r.granted).size).toBe(r.granted.length) // no double grant
  expect([...r.rejected].sort()).toEqual([...m.rejected].sort())
  expect(r.sem.waiting).toBe(m.queue.length)
  expect(r.sem.free()).toBe(m.permits)
  if (r.sem.free() > 0) expect(r.sem.waiting).toBe(0) // no deadlock while permits are free
}

class Acquire implements SemCmd {
  readonly signalled: boolean
  constructor(signalled: boolean) {
    this.signalled = signalled
  }
  check(): boolean {
    return true
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    const id = m.nextId++
    let signal: AbortSignal | undefined
    if (this.signalled) {
      const c = new AbortController()
      r.controllers.set(id, c)
      signal = c.signal
    }
    r.sem.acquire({ signal }).then(
      () => r.granted.push(id),
      () => r.rejected.push(id)
    )
    if (m.permits > 0) {
      m.permits--
      m.holders++
      m.granted.push(id)
    } else m.queue.push({ id, signalled: this.signalled })
    await checkSem(m, r)
  }
  toString(): string {
    return `acquire(${this.signalled ? 'signal' : ''})`
  }
}

class Release implements SemCmd {
  check(m: Readonly<SemModel>): boolean {
    return m.holders > 0
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    r.sem.release()
    m.holders--
    passOn(m)
    await checkSem(m, r)
  }
  toString(): string {
    return 'release'
  }
}

class AbortWaiter implements SemCmd {
  readonly pick: number
  constructor(pick: number) {
    this.pick = pick
  }
  check(m: Readonly<SemModel>): boolean {
    return m.queue.some((w) => w.signalled)
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    const candidates = m.queue.filter((w) => w.signalled)
    const victim = candidates[this.pick % candidates.length] as { id: number }
    r.controllers.get(victim.id)?.abort()
    m.queue = m.queue.filter((w) => w.id !== victim.id)
    m.rejected.push(victim.id)
    await checkSem(m, r)
  }
  toString(): string {
    return `abort(${this.pick})`
  }
}

/** release() hands the permit to the head waiter, whose signal aborts in the same tick. */
class ReleaseThenAbortHead implements SemCmd {
  check(m: Readonly<SemModel>): boolean {
    return m.holders > 0 && m.queue[0]?.signalled === true
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    const head = m.queue.shift() as { id: number }
    r.sem.release()
    r.controllers.get(head.id)?.abort()
    m.holders--
    m.rejected.push(head.id)
    passOn(m)
    await checkSem(m, r)
  }
  toString(): string {
    return 'release+abortHead'
  }
}

const semCommands = [
  fc.boolean().map((s) => new Acquire(s)),
  fc.constant(new Release()),
  fc.nat(20).map((n) => new AbortWaiter(n)),
  fc.constant(new ReleaseThenAbortHead()),
]

function runSem(make: (permits: number) => Permits, permits: fc.Arbitrary<number>): Promise<void> {
  return fc.assert(
    fc.asyncProperty(permits, fc.commands(semCommands, { maxCommands: 60 }), async (n, cmds) => {
      const setup = () => ({
        model: { permits: n, queue: [], holders: 0, granted: [], rejected: [], nextId: 0 },
        real: { sem: make(n), granted: [], rejected: [], controllers: new Map() },
      })
      await fc.asyncModelRun(setup, cmds)
    }),
    { numRuns: 150 }
  )
}

describe('model-based: Semaphore and Lock', () => {
  it('Semaphore(0..4) matches the model', async () => {
    await runSem(
      (n) => {
        const sem = new Semaphore(n)
        return {
          acquire: (o) => sem.acquire(o),
          release: () => sem.release(),
          get waiting() {
            return sem.waiting
          },
          free: () => sem.value,
        }
      },
      fc.integer({ min: 0, max: 4 })
    )
  })

  it('Lock matches the model of a one-permit semaphore', async () => {
    await runSem(() => {
      const lock = new Lock()
      return {
        acquire: (o) => lock.acquire(o),
        release: () => lock.release(),
        get waiting() {
          return lock.waiting
        },
        free: () => (lock.locked ? 0 : 1),
      }
    }, fc.constant(1))
  })
})

// ---------- Queue ----------

interface QModel {
  maxsize: number
  buffer: number[]
  getters: { id: number; signalled: boolean }[]
  putters: { id: number; item: number; signalled: boolean }[]
  gotten: [number, number][]
  putDone: number[]
  rejected: number[]
  nextId: number
  nextItem: number
}

interface QReal {
  q: Queue<number>
  gotten: [number, number][]
  putDone: number[]
  rejected: number[]
  controllers: Map<number, AbortController>
}

type QCmd = fc.AsyncCommand<QModel, QReal>

/** An item arrives: to the first getter, else into the buffer. */
function deliver(m: QModel, item: number): void {
  const g = m.getters.shift()
  if (g === undefined) m.buffer.push(item)
  else m.gotten.push([g.id, item])
}

/** A slot frees up: the first putter's item comes in. */
function slotFree(m: QModel): void {
  const p = m.putters.shift()
  if (p === undefined) return
  m.putDone.push(p.id)
  deliver(m, p.item)
}

async function checkQ(m: QModel, r: QReal): Promise<void> {
  await flush()
  expect(r.gotten).toEqual(m.gotten)
  expect([...r.putDone].sort()).toEqual([...m.putDone].sort())
  expect([...r.rejected].sort()).toEqual([...m.rejected].sort())
  expect(r.q.size).toBe(m.buffer.length)
  if (r.q.size > 0) expect(m.getters.length).toBe(0)
  if (!r.q.full) expect(m.putters.length).toBe(0)
}

function controller(r: QReal, id: number, signalled: boolean): AbortSignal | undefined {
  if (!signalled) return undefined
  const c = new AbortController()
  r.controllers.set(id, c)
  return c.signal
}

class Put implements QCmd {
  readonly signalled: boolean
  constructor(signalled: boolean) {
    this.signalled = signalled
  }
  check(): boolean {
    return true
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const id = m.nextId++
    const item = m.nextItem++
    r.q.put(item, { signal: controller(r, id, this.signalled) }).then(
      () => r.putDone.push(id),
      () => r.rejected.push(id)
    )
    if (m.buffer.length < m.maxsize && m.putters.length === 0) {
      m.putDone.push(id)
      deliver(m, item)
    } else m.putters.push({ id, item, signalled: this.signalled })
    await checkQ(m, r)
  }
  toString(): string {
    return `put(${this.signalled ? 'signal' : ''})`
  }
}

class Get implements QCmd {
  readonly signalled: boolean
  constructor(signalled: boolean) {
    this.signalled = signalled
  }
  check(): boolean {
    return true
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const id = m.nextId++
    r.q.get({ signal: controller(r, id, this.signalled) }).then(
      (item) => r.gotten.push([id, item]),
      () => r.rejected.push(id)
    )
    const item = m.buffer.shift()
    if (item === undefined) m.getters.push({ id, signalled: this.signalled })
    else {
      m.gotten.push([id, item])
      slotFree(m)
    }
    await checkQ(m, r)
  }
  toString(): string {
    return `get(${this.signalled ? 'signal' : ''})`
  }
}

class AbortOne implements QCmd {
  readonly which: 'getters' | 'putters'
  readonly pick: number
  constructor(which: 'getters' | 'putters', pick: number) {
    this.which = which
    this.pick = pick
  }
  check(m: Readonly<QModel>): boolean {
    return m[this.which].some((w) => w.signalled)
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const list = m[this.which] as { id: number; signalled: boolean }[]
    const candidates = list.filter((w) => w.signalled)
    const victim = candidates[this.pick % candidates.length] as { id: number }
    r.controllers.get(victim.id)?.abort()
    if (this.which === 'getters') m.getters = m.getters.filter((w) => w.id !== victim.id)
    else m.putters = m.putters.filter((w) => w.id !== victim.id)
    m.rejected.push(victim.id)
    await checkQ(m, r)
  }
  toString(): string {
    return `abort(${this.which},${this.pick})`
  }
}

/** putNowait hands an item to the head getter, whose signal aborts in the same tick. */
class PutThenAbortGetter implements QCmd {
  check(m: Readonly<QModel>): boolean {
    return m.getters[0]?.signalled === true
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const head = m.getters.shift() as { id: number }
    const item = m.nextItem++
    r.q.putNowait(item)
    r.controllers.get(head.id)?.abort()
    m.rejected.push(head.id)
    deliver(m, item) // handed back: next getter, else the buffer
    await checkQ(m, r)
  }
  toString(): string {
    return 'putNowait+abortGetter'
  }
}

/** getNowait frees a slot for the head putter, whose signal aborts in the same tick. */
class GetThenAbortPutter implements QCmd {
  check(m: Readonly<QModel>): boolean {
    return m.putters[0]?.signalled === true && m.buffer.length > 0
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const head = m.putters.shift() as { id: number }
    const item = r.q.getNowait()
    r.gotten.push([-1, item])
    r.controllers.get(head.id)?.abort()
    m.gotten.push([-1, m.buffer.shift() as number])
    m.rejected.push(head.id)
    slotFree(m) // the slot goes to the next putter
    await checkQ(m, r)
  }
  toString(): string {
    return 'getNowait+abortPutter'
  }
}

describe('model-based: Queue', () => {
  it('bounded FIFO queue matches the model; items are conserved', async () => {
    const commands = [
      fc.boolean().map((s) => new Put(s)),
      fc.boolean().map((s) => new Get(s)),
      fc.nat(20).map((n) => new AbortOne('getters', n)),
      fc.nat(20).map((n) => new AbortOne('putters', n)),
      fc.constant(new PutThenAbortGetter()),
      fc.constant(new GetThenAbortPutter()),
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.commands(commands, { maxCommands: 60 }),
        async (maxsize, cmds) => {
          const model: QModel = {
            maxsize,
            buffer: [],
            getters: [],
            putters: [],
            gotten: [],
            putDone: [],
            rejected: [],
            nextId: 0,
            nextItem: 0,
          }
          const real: QReal = {
            q: new Queue<number>({ maxsize }),
            gotten: [],
            putDone: [],
            rejected: [],
            controllers: new Map(),
          }
          await fc.asyncModelRun(() => ({ model, real }), cmds)
          // Conservation: every item put was got, is in the queue, or is still with its
          // parked putter (draining lets those in, in order).
          const left: number[] = []
          // (a putter with a signal puts its item when it resumes, hence the flush)
          for (await flush(); !real.q.empty; await flush()) left.push(real.q.getNowait())
          expect(left).toEqual(model.buffer.concat(model.putters.map((p) => p.item)))
          const accepted = model.gotten.map(([, item]) => item).concat(left)
          expect(new Set(accepted).size).toBe(accepted.length)
        }
      ),
      { numRuns: 150 }
    )
  })
})
