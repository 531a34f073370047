// What jobs and distributed locks report to an installed instrumentation: job attempts by
// outcome, a distributed acquire as a wait with its round trips, lease losses.
import { afterEach, describe, expect, it } from 'vitest'
import { deliver } from '../../src/distributed/jobs/consumer.ts'
import type { CoordinatorNamespace, CoordinatorStub } from '../../src/distributed/protocol.ts'
import {
  createLocalCoordinator,
  DistributedLock,
  DistributedSemaphore,
  defineJobConsumer,
  type JobInfo,
  type LocalCoordinator,
} from '../../src/index.ts'
import { setInstrumentation } from '../../src/telemetry/instrumentation.ts'
import { recorder } from '../sync/recording.ts'
import { withRenewControl } from './renew-control.ts'

let local: LocalCoordinator | undefined
afterEach(() => {
  setInstrumentation(undefined)
  local?.close()
  local = undefined
})

function info(attempt: number): JobInfo {
  return {
    id: `job-${attempt}`,
    attempt,
    enqueuedAt: new Date(0),
    queue: 'emails',
    env: undefined,
    signal: new AbortController().signal,
  }
}

describe('job attempts', () => {
  it('counts each delivery as succeeded, retried or dead_lettered, by queue', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    let failures = 2
    const flaky = defineJobConsumer<string>({
      handle() {
        if (failures-- > 0) throw new Error('try again')
      },
      maxRetries: 1,
      backoff: () => 0,
      onDeadLetter() {},
    })
    expect((await deliver(flaky, 'a', info(1))).kind).toBe('retry')
    expect((await deliver(flaky, 'a', info(2))).kind).toBe('dead-lettered')
    expect((await deliver(flaky, 'b', info(1))).kind).toBe('done')
    expect(rec.added.map((m) => [m.metric, m.value, m.attributes])).toEqual([
      ['edgeio.job.attempts', 1, { 'edgeio.job.queue': 'emails', 'edgeio.job.outcome': 'retried' }],
      [
        'edgeio.job.attempts',
        1,
        { 'edgeio.job.queue': 'emails', 'edgeio.job.outcome': 'dead_lettered' },
      ],
      [
        'edgeio.job.attempts',
        1,
        { 'edgeio.job.queue': 'emails', 'edgeio.job.outcome': 'succeeded' },
      ],
    ])
  })
})

describe('distributed acquire', () => {
  it('reports each acquire as a wait with its duration and round trips', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    local = createLocalCoordinator()
    const inner = local
    let acquireCalls = 0
    let fourthCall!: () => void
    const fourthSent = new Promise<void>((resolve) => {
      fourthCall = resolve
    })
    const counting: CoordinatorNamespace = {
      idFromName: (name) => inner.idFromName(name),
      get(id) {
        const stub = inner.get(id)
        return {
          ...stub,
          acquire: (request) => {
            if (++acquireCalls === 4) fourthCall()
            return stub.acquire(request)
          },
          release: (ref) => stub.release(ref),
          inspect: (name) => stub.inspect(name),
          renew: (request) => stub.renew(request),
        } as CoordinatorStub
      },
    }
    const lock = new DistributedLock(counting, 'invoices', { pollMs: 10 })
    const first = await lock.acquire()
    const second = lock.acquire() // long-polls while the first holds
    // Hand over once the waiter has sent its third long poll (10 ms each).
    await fourthSent
    await first.release()
    await (await second).release()
    const sem = new DistributedSemaphore(local, 'partner', 1, { pollMs: 10 })
    const held = await sem.acquire()
    const c = new AbortController()
    const aborted = sem.acquire({ signal: c.signal })
    c.abort()
    await expect(aborted).rejects.toBeDefined()
    await held.release()

    expect(rec.waits.map((w) => [w.primitive, w.method, w.name, w.outcomes])).toEqual([
      ['DistributedLock', 'acquire', 'invoices', ['acquired']],
      ['DistributedLock', 'acquire', 'invoices', ['acquired']],
      ['DistributedSemaphore', 'acquire', 'partner', ['acquired']],
      ['DistributedSemaphore', 'acquire', 'partner', ['aborted']],
    ])
    const trips = rec.recorded.filter((m) => m.metric === 'edgeio.distributed.acquire.round_trips')
    expect(trips.map((m) => m.attributes?.['edgeio.distributed.outcome'])).toEqual([
      'acquired',
      'acquired',
      'acquired',
      'aborted',
    ])
    expect(trips[0]?.value).toBe(1) // uncontended: one round trip
    expect(trips[1]?.value).toBeGreaterThanOrEqual(3) // waited through several long polls
    const durations = rec.recorded.filter((m) => m.metric === 'edgeio.distributed.acquire.duration')
    expect(durations).toHaveLength(4)
    expect(durations[1]?.value).toBeGreaterThan(0.015) // two long polls of 10 ms at least
  })

  it('counts a lease lost while held', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    local = createLocalCoordinator()
    // A coordinator whose renewals hang (a paused Redis): the lease is lost at its deadline.
    const { binding, control } = withRenewControl(local)
    control.current = () => new Promise(() => {})
    const lock = new DistributedLock(binding, 'hung', { leaseMs: 120, renewEveryMs: 40 })
    const lease = await lock.acquire()
    await new Promise((resolve) => lease.signal.addEventListener('abort', resolve, { once: true }))
    expect(rec.sum('edgeio.lease.lost', { 'edgeio.primitive.name': 'hung' })).toBe(1)
  })
})
