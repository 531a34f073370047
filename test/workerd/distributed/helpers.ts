// Helpers of test/workerd/coordinator.test.ts: the COORDINATOR binding (the real Durable
// Object namespace of the root wrangler.toml), stubs and waits without fixed sleeps.
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import type { EdgeioCoordinator } from '../../../adapters/workers/coordinator.ts'
import type { CoordinatorStub } from '../../../src/distributed/protocol.ts'
import { resourceName } from '../../../src/distributed/protocol.ts'

/** The namespace binding, typed as workerd types it: it must fit `CoordinatorNamespace`. */
export const COORDINATOR = (
  env as unknown as { COORDINATOR: DurableObjectNamespace<EdgeioCoordinator> }
).COORDINATOR

export const stubOf = (name: string) => COORDINATOR.get(COORDINATOR.idFromName(name))

/** The state of the lock `name` as its coordinator object sees it. */
export const lockState = (name: string) => {
  const object = resourceName('lock', name)
  return stubOf(object).inspect(object)
}

/** Names no other test (or earlier run) uses: storage persists between runs of the file. */
let unique = 0
export const uniqueName = (what: string) => `${what}-${Date.now()}-${++unique}`

/** Polls `check` until it holds, failing after `timeoutMs` (no fixed sleeps). */
export async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * Read, yield, write the value `n` of a fenced register in its own coordinator object:
 * loses updates unless something serializes the callers.
 */
export async function increment(values: CoordinatorStub, fence = 0): Promise<number> {
  const { value } = await values.read('n')
  await new Promise((resolve) => setTimeout(resolve, 1))
  const next = ((value as number | null) ?? 0) + 1
  const written = await values.write('n', next, fence)
  if (!written.written) throw new Error(`fenced out by ${written.fence}`)
  return next
}

/**
 * Restarts the coordinator object of lock `name` (or the object named `name` when `raw`)
 * with `ctx.abort()` inside it, as an eviction or a deploy would: in-memory state is gone,
 * storage stays, calls in flight fail with `durableObjectReset`. Returns whether it really
 * was a new instance afterwards (a marker left on the old one is gone). workerd logs each
 * abort as "uncaught exception … outputGateBroken" on stderr: expected, not a failure.
 */
export async function restart(name: string, raw = false): Promise<boolean> {
  const stub = () => stubOf(raw ? name : resourceName('lock', name))
  const marked = (instance: object) => (instance as { testMarker?: true }).testMarker === true
  await runInDurableObject(stub(), (instance) => {
    ;(instance as { testMarker?: true }).testMarker = true
  })
  // The abort rejects this call: that is the point.
  await runInDurableObject(stub(), (_instance, state) => {
    state.abort('test: restart')
  }).catch(() => {})
  return !(await runInDurableObject(stub(), marked))
}
