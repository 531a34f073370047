// Model-based property tests: random interleavings of acquire / release / put / get / abort
// (including an abort landing in the same tick as a grant) run against the real primitives
// and against a few lines of reference model. After every step, with microtasks flushed:
// same grants in the same (FIFO) order, nothing granted twice, items conserved, and no
// waiter parked while a permit or an item is free.
// Each test runs twice: plain, and with named primitives and a recording Instrumentation
// installed, where every wait that parked must have been reported once, ended exactly once
// when it is over, with the outcome the model says ('acquired' or 'aborted'), and nothing
// else reported.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Lock, Queue, Semaphore } from '../../src/sync/index.ts'
import { setInstrumentation } from '../../src/telemetry/instrumentation.ts'
import { flush } from './helpers.ts'
import { type RecordedWait, type Recorder, recorder } from './recording.ts'

afterEach(() => {
  setInstrumentation(undefined)
})

// ---------- Instrumentation bookkeeping (shared) ----------

/** The recorder and which call (by id) each reported wait belongs to. */
interface Reports {
  rec: Recorder
  byId: Map<number, RecordedWait>
}

function reports(instrumented: boolean): Reports | undefined {
  if (!instrumented) return undefined
  const rec = recorder()
  setInstrumentation(rec.instrumentation)
  return { rec, byId: new Map() }
}

/** Runs a call and ties the wait it reported, if any, to `id`. */
function calling<R>(reps: Reports | undefined, id: number, call: () => R): R {
  const before = reps?.rec.waits.length ?? 0
  const result = call()
  if (reps !== undefined) {
    expect(reps.rec.waits.length - before).toBeLessThanOrEqual(1)
    const wait = reps.rec.waits[before]
    if (wait !== undefined) reps.byId.set(id, wait)
  }
  return result
}

/**
 * Reports agree with the model: exactly the calls that parked were reported; the ones still
 * parked are not ended; the others ended once, aborted if rejected, else acquired.
 */
function checkReports(
  reps: Reports | undefined,
  parked: ReadonlySet<number>,
  waiting: readonly number[],
  rejected: readonly number[],
  primitive: string
): void {
  if (reps === undefined) return
  expect(reps.rec.waits.length).toBe(reps.byId.size)
  expect([...reps.byId.keys()].sort()).toEqual([...parked].sort())
  const stillWaiting = new Set(waiting)
  const aborted = new Set(rejected)
  for (const [id, wait] of reps.byId) {
    expect(`${wait.primitive} ${wait.name}`).toMatch(new RegExp(`^${primitive} model$`))
    if (stillWaiting.has(id)) expect(wait.outcomes).toEqual([])
    else expect(wait.outcomes).toEqual([aborted.has(id) ? 'aborted' : 'acquired'])
  }
  expect(reps.rec.added).toEqual([])
  expect(reps.rec.recorded).toEqual([])
}

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
  /** Calls that parked (for the reports). */
  parked: Set<number>
}

interface SemReal {
  sem: Permits
  granted: number[]
  rejected: number[]
  controllers: Map<number, AbortController>
  reports: Reports | undefined
  primitive: string
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
  checkReports(
    r.reports,
    m.parked,
    m.queue.map((w) => w.id),
    m.rejected,
    r.primitive
  )
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
    calling(r.reports, id, () => r.sem.acquire({ signal })).then(
      () => r.granted.push(id),
      () => r.rejected.push(id)
    )
    if (m.permits > 0) {
      m.permits--
      m.holders++
      m.granted.push(id)
    } else {
      m.queue.push({ id, signalled: this.signalled })
      m.parked.add(id)
    }
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

function runSem(
  make: (permits: number, name: string | undefined) => Permits,
  permits: fc.Arbitrary<number>,
  instrumented: boolean,
  primitive: string
): Promise<void> {
  return fc.assert(
    fc.asyncProperty(permits, fc.commands(semCommands, { maxCommands: 60 }), async (n, cmds) => {
      const setup = () => ({
        model: {
          permits: n,
          queue: [],
          holders: 0,
          granted: [],
          rejected: [],
          nextId: 0,
          parked: new Set<number>(),
        },
        real: {
          sem: make(n, instrumented ? 'model' : undefined),
          granted: [],
          rejected: [],
          controllers: new Map(),
          reports: reports(instrumented),
          primitive,
        },
      })
      await fc.asyncModelRun(setup, cmds)
    }),
    { numRuns: 150 }
  )
}

describe.each([
  ['', false],
  [', instrumented', true],
])('model-based: Semaphore and Lock%s', (_, instrumented) => {
  it('Semaphore(0..4) matches the model', async () => {
    await runSem(
      (n, name) => {
        const sem = new Semaphore(n, { name })
        return {
          acquire: (o) => sem.acquire(o),
          release: () => sem.release(),
          get waiting() {
            return sem.waiting
          },
          free: () => sem.value,
        }
      },
      fc.integer({ min: 0, max: 4 }),
      instrumented,
      'Semaphore'
    )
  })

  it('Lock matches the model of a one-permit semaphore', async () => {
    await runSem(
      (_, name) => {
        const lock = new Lock({ name })
        return {
          acquire: (o) => lock.acquire(o),
          release: () => lock.release(),
          get waiting() {
            return lock.waiting
          },
          free: () => (lock.locked ? 0 : 1),
        }
      },
      fc.constant(1),
      instrumented,
      'Lock'
    )
  })
})

// ---------- Queue ----------

interface QModel {
  maxsize: number
  buffer: number[]
  getters: { id: number; signalled: boolean }[]
  putters: { id: number; item: number; signalled: boolean }[]
  /** Parked join() callers. */
  joiners: { id: number; signalled: boolean }[]
  gotten: [number, number][]
  putDone: number[]
  joined: number[]
  rejected: number[]
  /** Items that came in and were not yet marked with taskDone(). */
  unfinished: number
  /** taskDone() calls so far (at most one per item got). */
  done: number
  nextId: number
  nextItem: number
  parked: Set<number>
}

interface QReal {
  q: Queue<number>
  gotten: [number, number][]
  putDone: number[]
  joined: number[]
  rejected: number[]
  controllers: Map<number, AbortController>
  reports: Reports | undefined
}

type QCmd = fc.AsyncCommand<QModel, QReal>

/** An item arrives: to the first getter, else into the buffer. */
function deliver(m: QModel, item: number): void {
  m.unfinished++
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
  expect([...r.joined].sort()).toEqual([...m.joined].sort())
  expect([...r.rejected].sort()).toEqual([...m.rejected].sort())
  expect(r.q.size).toBe(m.buffer.length)
  if (r.q.size > 0) expect(m.getters.length).toBe(0)
  if (!r.q.full) expect(m.putters.length).toBe(0)
  checkReports(
    r.reports,
    m.parked,
    [...m.getters, ...m.putters, ...m.joiners].map((w) => w.id),
    m.rejected,
    'Queue'
  )
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
    calling(r.reports, id, () => r.q.put(item, { signal: controller(r, id, this.signalled) })).then(
      () => r.putDone.push(id),
      () => r.rejected.push(id)
    )
    if (m.buffer.length < m.maxsize && m.putters.length === 0) {
      m.putDone.push(id)
      deliver(m, item)
    } else {
      m.putters.push({ id, item, signalled: this.signalled })
      m.parked.add(id)
    }
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
    calling(r.reports, id, () => r.q.get({ signal: controller(r, id, this.signalled) })).then(
      (item) => r.gotten.push([id, item]),
      () => r.rejected.push(id)
    )
    const item = m.buffer.shift()
    if (item === undefined) {
      m.getters.push({ id, signalled: this.signalled })
      m.parked.add(id)
    } else {
      m.gotten.push([id, item])
      slotFree(m)
    }
    await checkQ(m, r)
  }
  toString(): string {
    return `get(${this.signalled ? 'signal' : ''})`
  }
}

/** join(): at once when nothing is unfinished, else parked until the last taskDone(). */
class Join implements QCmd {
  readonly signalled: boolean
  constructor(signalled: boolean) {
    this.signalled = signalled
  }
  check(): boolean {
    return true
  }
  async run(m: QModel, r: QReal): Promise<void> {
    const id = m.nextId++
    calling(r.reports, id, () => r.q.join({ signal: controller(r, id, this.signalled) })).then(
      () => r.joined.push(id),
      () => r.rejected.push(id)
    )
    if (m.unfinished === 0) m.joined.push(id)
    else {
      m.joiners.push({ id, signalled: this.signalled })
      m.parked.add(id)
    }
    await checkQ(m, r)
  }
  toString(): string {
    return `join(${this.signalled ? 'signal' : ''})`
  }
}

/** taskDone() for an item got earlier: the last one wakes every joiner. */
class TaskDone implements QCmd {
  check(m: Readonly<QModel>): boolean {
    return m.done < m.gotten.length
  }
  async run(m: QModel, r: QReal): Promise<void> {
    r.q.taskDone()
    m.done++
    if (--m.unfinished === 0) {
      for (const j of m.joiners) m.joined.push(j.id)
      m.joiners = []
    }
    await checkQ(m, r)
  }
  toString(): string {
    return 'taskDone'
  }
}

class AbortOne implements QCmd {
  readonly which: 'getters' | 'putters' | 'joiners'
  readonly pick: number
  constructor(which: 'getters' | 'putters' | 'joiners', pick: number) {
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
    else if (this.which === 'joiners') m.joiners = m.joiners.filter((w) => w.id !== victim.id)
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

describe.each([
  ['', false],
  [', instrumented', true],
])('model-based: Queue%s', (_, instrumented) => {
  it('bounded FIFO queue matches the model (join and taskDone too); items are conserved', async () => {
    const commands = [
      fc.boolean().map((s) => new Put(s)),
      fc.boolean().map((s) => new Get(s)),
      fc.nat(20).map((n) => new AbortOne('getters', n)),
      fc.nat(20).map((n) => new AbortOne('putters', n)),
      fc.boolean().map((s) => new Join(s)),
      fc.constant(new TaskDone()),
      fc.nat(20).map((n) => new AbortOne('joiners', n)),
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
            joiners: [],
            gotten: [],
            putDone: [],
            joined: [],
            rejected: [],
            unfinished: 0,
            done: 0,
            nextId: 0,
            nextItem: 0,
            parked: new Set(),
          }
          const real: QReal = {
            q: new Queue<number>({ maxsize, name: instrumented ? 'model' : undefined }),
            gotten: [],
            putDone: [],
            joined: [],
            rejected: [],
            controllers: new Map(),
            reports: reports(instrumented),
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
