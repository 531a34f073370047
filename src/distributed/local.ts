/**
 * The coordinator in this process, for Node and Deno (where one process is the whole
 * deployment) and for tests: the same logic as the Durable Object, over a `Map` and a timer,
 * behind the same namespace shape, so that `c.env.COORDINATOR ?? local` runs everywhere.
 */
import { Coordinator } from './coordinator.ts'
import { CoordinatorResetError } from './errors.ts'
import type { CoordinatorNamespace, CoordinatorStub } from './protocol.ts'
import { MemoryCoordinatorStorage, type MemoryStorageOptions } from './storage.ts'

export interface LocalCoordinatorOptions {
  /** The clock (tests pass a fake one). Default `Date.now`. */
  now?: () => number
}

/** A Durable Object namespace look-alike whose objects live in this process. */
export interface LocalCoordinator extends CoordinatorNamespace {
  idFromName(name: string): string
  get(id: unknown): CoordinatorStub
  /**
   * Simulates a restart of the object `name` (a Durable Object evicted or redeployed): calls
   * waiting in it fail with {@link CoordinatorResetError}, its storage is kept.
   */
  restart(name: string): void
  /** Cancels every pending alarm timer. */
  close(): void
  /** Objects in memory (diagnostics and tests). */
  readonly size: number
}

interface LocalObject {
  storage: MemoryCoordinatorStorage
  coordinator: Coordinator
  stub: CoordinatorStub
}

/**
 * Creates an in-process coordinator: one {@link Coordinator} per object name, as a Durable
 * Object namespace has one object per name. Values cross it as structured clones, as they
 * cross an RPC boundary. Creating it starts nothing (no timer until a lease exists), so it
 * may be created at module level, Workers included.
 *
 * @example
 * ```ts
 * const local = createLocalCoordinator()
 * app.post('/work', async (c) => {
 *   const lock = new DistributedLock(c.env.COORDINATOR ?? local, 'work')
 *   return c.json(await lock.run(({ token }) => doWork(token)))
 * })
 * ```
 */
export function createLocalCoordinator(options: LocalCoordinatorOptions = {}): LocalCoordinator {
  const objects = new Map<string, LocalObject>()
  const storageOptions: MemoryStorageOptions = options.now ? { now: options.now } : {}

  function open(name: string): LocalObject {
    let object = objects.get(name)
    if (object) return object
    const storage = new MemoryCoordinatorStorage(storageOptions)
    const coordinator = new Coordinator(storage)
    // Late-bound: a restart swaps the coordinator, every stub keeps working.
    const current = () => (object as LocalObject).coordinator
    const stub: CoordinatorStub = {
      acquire: async (request) => clone(await current().acquire(clone(request))),
      renew: async (request) => clone(current().renew(clone(request))),
      release: async (ref) => current().release(clone(ref)),
      inspect: async (resource) => clone(current().inspect(resource)),
      consume: async (key, rule) => clone(current().consume(key, clone(rule))),
      read: async (key) => clone(current().read(key)),
      write: async (key, value, fence) => clone(current().write(key, clone(value), fence)),
    }
    object = { storage, coordinator, stub }
    storage.onAlarm = () => {
      current().alarm()
      // Nothing left (spent quotas of a rate-limit key): forget the object, as a Durable
      // Object with empty storage costs nothing. Names never come back to a stale stub:
      // stubs made before are only kept by leases, whose resource keeps its token counter.
      if (storage.size === 0 && objects.get(name) === object) objects.delete(name)
    }
    objects.set(name, object)
    return object
  }

  return {
    idFromName: (name) => name,
    get(id) {
      if (typeof id !== 'string') throw new TypeError('Not an id from idFromName()')
      return open(id).stub
    },
    restart(name) {
      const object = objects.get(name)
      if (!object) return
      object.coordinator.abandon(new CoordinatorResetError(`coordinator ${name} restarted`))
      object.coordinator = new Coordinator(object.storage)
    },
    close() {
      for (const object of objects.values()) object.storage.close()
    },
    get size() {
      return objects.size
    },
  }
}

function clone<T>(value: T): T {
  return structuredClone(value)
}
