// Property: with a recording Instrumentation installed, under random interleavings of waits,
// grants, aborts (also in the tick of a grant), shutdowns, resets and barrier aborts, every
// wait that parked is reported once and ended exactly once, with the outcome that matches
// how its promise settled; calls that did not park report nothing.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import {
  Barrier,
  BrokenBarrierError,
  Event,
  Queue,
  QueueShutDown,
  Semaphore,
} from '../../src/sync/index.ts'
import { setInstrumentation } from '../../src/telemetry/instrumentation.ts'
import type { WaitOutcome } from '../../src/telemetry/names.ts'
import { flush } from './helpers.ts'
import { type RecordedWait, recorder } from './recording.ts'

afterEach(() => {
  setInstrumentation(undefined)
})

type Action =
  | { kind: 'acquire' | 'put' | 'get' | 'wait' | 'meet'; signalled: boolean }
  | { kind: 'release' | 'set' | 'clear' | 'reset' | 'break' | 'shutdown' | 'tick' }
  | { kind: 'abort'; pick: number }

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('acquire', 'put', 'get', 'wait', 'meet'),
    signalled: fc.boolean(),
  }) as fc.Arbitrary<Action>,
  fc.record({
    kind: fc.constantFrom('release', 'set', 'clear', 'reset', 'break', 'shutdown', 'tick'),
  }) as fc.Arbitrary<Action>,
  fc.record({ kind: fc.constant('abort'), pick: fc.nat(50) }) as fc.Arbitrary<Action>
)

interface Call {
  readonly what: string
  readonly reason: unknown
  state: 'pending' | 'fulfilled' | 'rejected'
  error?: unknown
  record?: RecordedWait
}

/** The outcome a wait must have been ended with, given how its promise settled. */
function expected(call: Call): WaitOutcome {
  if (call.state === 'fulfilled') return 'acquired'
  if (call.error === call.reason) return 'aborted'
  if (call.error instanceof QueueShutDown) return 'shutdown'
  if (call.error instanceof BrokenBarrierError) return 'broken'
  return 'error'
}

describe('wait instrumentation under random interleavings', () => {
  it('ends every reported wait exactly once, with the outcome its promise settled with', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 }),
        fc.array(action, { maxLength: 80 }),
        async (permits, actions) => {
          const rec = recorder()
          setInstrumentation(rec.instrumentation)
          const sem = new Semaphore(permits, { name: 's' })
          const queue = new Queue<number>({ maxsize: 1, name: 'q' })
          const event = new Event({ name: 'e' })
          const barrier = new Barrier(3, { name: 'b' })
          const calls: Call[] = []
          const controllers: AbortController[] = []
          let held = 0
          let item = 0

          const call = (
            what: string,
            signalled: boolean,
            start: (s?: AbortSignal) => Promise<unknown>
          ) => {
            const controller = signalled ? new AbortController() : undefined
            if (controller) controllers.push(controller)
            const reason = new Error(`abort ${calls.length}`)
            const c: Call = { what, reason, state: 'pending' }
            calls.push(c)
            const before = rec.waits.length
            let promise: Promise<unknown>
            if (controller) {
              const signal = controller.signal
              // Abort with a reason of this call's own, to tell an abort from other errors.
              const { abort } = controller
              controller.abort = () => abort.call(controller, reason)
              promise = start(signal)
            } else promise = start()
            expect(rec.waits.length - before).toBeLessThanOrEqual(1)
            c.record = rec.waits[before]
            promise.then(
              () => {
                c.state = 'fulfilled'
                if (what === 'acquire') held++
              },
              (error: unknown) => {
                c.state = 'rejected'
                c.error = error
              }
            )
          }

          for (const a of actions) {
            switch (a.kind) {
              case 'acquire':
                call('acquire', a.signalled, (signal) => sem.acquire({ signal }))
                break
              case 'put':
                call('put', a.signalled, (signal) => queue.put(item++, { signal }))
                break
              case 'get':
                call('get', a.signalled, (signal) => queue.get({ signal }))
                break
              case 'wait':
                call('wait', a.signalled, (signal) => event.wait({ signal }))
                break
              case 'meet':
                call('meet', a.signalled, (signal) => barrier.wait({ signal }))
                break
              case 'release':
                if (held > 0) {
                  held--
                  sem.release()
                }
                break
              case 'set':
                event.set()
                break
              case 'clear':
                event.clear()
                break
              case 'reset':
                barrier.reset()
                break
              case 'break':
                barrier.abort()
                break
              case 'shutdown':
                queue.shutdown()
                break
              case 'tick':
                await flush()
                break
              case 'abort':
                // No flush before: an abort may land in the tick of a grant.
                controllers[a.pick % Math.max(1, controllers.length)]?.abort()
                break
            }
          }
          // End every wait still parked.
          await flush()
          for (const c of controllers) c.abort()
          queue.shutdown(true)
          event.set()
          barrier.reset()
          await flush()
          while (held > 0 || sem.waiting > 0) {
            if (held > 0) {
              held--
              sem.release()
            }
            await flush()
          }

          for (const c of calls) {
            expect(c.state).not.toBe('pending')
            if (c.record === undefined) continue // did not park
            expect(c.record.outcomes).toEqual([expected(c)])
          }
          // Only parked calls were reported, each by exactly one call.
          expect(rec.waits.length).toBe(calls.filter((c) => c.record !== undefined).length)
          expect(new Set(calls.map((c) => c.record).filter(Boolean)).size).toBe(rec.waits.length)
        }
      ),
      { numRuns: 200 }
    )
  })
})
