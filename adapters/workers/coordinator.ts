/// <reference types="./cloudflare-workers.d.ts" />
/**
 * The coordinator as a Durable Object: `DistributedLock`, `DistributedSemaphore` and
 * `DistributedRateLimitStore` talk to it over RPC through its namespace binding. Re-export it
 * from your worker and declare it in wrangler.toml (a SQLite-backed class: the logic needs
 * the synchronous `ctx.storage.kv`):
 *
 * ```toml
 * [[durable_objects.bindings]]
 * name = "COORDINATOR"
 * class_name = "EdgeioCoordinator"
 *
 * [[migrations]]
 * tag = "edgeio-coordinator-v1"
 * new_sqlite_classes = ["EdgeioCoordinator"]
 * ```
 */
import { DurableObject } from 'cloudflare:workers'
import { Coordinator } from '../../src/distributed/coordinator.ts'
import type {
  AcquireReply,
  AcquireRequest,
  CoordinatorRpc,
  FencedValue,
  FencedWrite,
  LeaseRef,
  PlainValue,
  ReleaseReply,
  RenewReply,
  RenewRequest,
  ResourceSnapshot,
} from '../../src/distributed/protocol.ts'
import type { CoordinatorStorage } from '../../src/distributed/storage.ts'
import type { RateLimitResult, RateLimitRule } from '../../src/quota/index.ts'

/**
 * Runs the runtime-neutral {@link Coordinator} over this object's storage. Every method is
 * synchronous storage work (no `await` between a read and its write, so the input gate
 * keeps it atomic), except `acquire`'s long poll, which re-reads storage after waiting.
 *
 * @example
 * ```ts
 * // worker entry
 * export { EdgeioCoordinator } from 'edgeio/workers'
 * // a route
 * const lock = new DistributedLock(c.env.COORDINATOR, 'reports')
 * ```
 */
export class EdgeioCoordinator extends DurableObject implements CoordinatorRpc {
  #coordinator: Coordinator | undefined

  get #logic(): Coordinator {
    if (!this.#coordinator) {
      const { storage } = this.ctx
      const kv = storage.kv
      const adapter: CoordinatorStorage = {
        get: (key) => kv.get(key),
        put: (key, value) => kv.put(key, value),
        delete: (key) => {
          kv.delete(key)
        },
        list: (prefix) => kv.list({ prefix }),
        now: () => Date.now(),
        // Not awaited: the output gate holds replies until the alarm is stored, and a
        // failure there resets the object, which the clients survive by retrying.
        setAlarm: (at) => {
          void storage.setAlarm(at)
        },
      }
      this.#coordinator = new Coordinator(adapter)
    }
    return this.#coordinator
  }

  acquire(request: AcquireRequest): Promise<AcquireReply> {
    return this.#logic.acquire(request)
  }

  renew(request: RenewRequest): RenewReply {
    return this.#logic.renew(request)
  }

  release(ref: LeaseRef): ReleaseReply {
    return this.#logic.release(ref)
  }

  inspect(name: string): ResourceSnapshot {
    return this.#logic.inspect(name)
  }

  consume(key: string, rule: RateLimitRule): RateLimitResult {
    return this.#logic.consume(key, rule)
  }

  read(key: string): FencedValue {
    return this.#logic.read(key)
  }

  write(key: string, value: PlainValue, fence?: number): FencedWrite {
    return this.#logic.write(key, value, fence)
  }

  // No `override`: JSR's public-API check cannot see the base class in cloudflare:workers
  // and rejects the modifier (deno 2.9.6); test/workerd's type check relaxes the rule.
  alarm(): void {
    this.#logic.alarm()
  }
}
