// Tasks for the executor tests, run inline and on threads. Synchronisation is through a
// SharedArrayBuffer (Atomics), never through sleeps.

/** Returns its argument (after the round trip through the executor). */
export function echo(value: unknown): unknown {
  return value
}

/** Adds two numbers, asynchronously. */
export async function add({ a, b }: { a: number; b: number }): Promise<number> {
  return a + b
}

/** Changes its argument: the caller must not see it (arguments are copies). */
export function mutate(value: { n: number }): number {
  value.n++
  return value.n
}

/** The byte length of a buffer: after a transfer, the caller's copy is detached. */
export function byteLength(buffer: ArrayBuffer): number {
  return buffer.byteLength
}

export class CodedError extends Error {
  override name = 'CodedError'
  readonly code = 'E_FIXTURE'
}

/** Throws a `CodedError` with `message`. */
export function fail(message: string): never {
  throw new CodedError(message)
}

/** Never returns: only terminating its thread stops it. Counts itself as started in `gate`. */
export function spin(gate?: Int32Array): never {
  if (gate) {
    Atomics.add(gate, 0, 1)
    Atomics.notify(gate, 0)
  }
  for (let i = 0; ; i++) if (i === -1) break
  throw new Error('unreachable')
}

/** Layout of a gate buffer: [started count, log of started ids…, release flags…]. */
export const GATE_SLOTS = 64

/** A shared buffer for {@link gated} jobs. */
export function createGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * GATE_SLOTS)))
}

/**
 * Records that job `id` started (in start order), then waits until the test opens its
 * gate. Async (Atomics.waitAsync), so that it works inline as well as on a thread.
 */
export async function gated({ gate, id }: { gate: Int32Array; id: number }): Promise<number> {
  const n = Atomics.add(gate, 0, 1)
  Atomics.store(gate, 1 + n, id)
  Atomics.notify(gate, 0)
  const flag = 1 + GATE_SLOTS + id
  while (Atomics.load(gate, flag) === 0) await Atomics.waitAsync(gate, flag, 0).value
  return id
}

/** Resolves once `count` gated jobs have started; returns their ids in start order. */
export async function started(gate: Int32Array, count: number): Promise<number[]> {
  for (let n = Atomics.load(gate, 0); n < count; n = Atomics.load(gate, 0)) {
    await Atomics.waitAsync(gate, 0, n).value
  }
  return Array.from(gate.subarray(1, 1 + Atomics.load(gate, 0)))
}

/** Lets gated job `id` finish. */
export function open(gate: Int32Array, id: number): void {
  Atomics.store(gate, 1 + GATE_SLOTS + id, 1)
  Atomics.notify(gate, 1 + GATE_SLOTS + id)
}
