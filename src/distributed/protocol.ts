/**
 * What clients and the coordinator say to each other: plain data only, so that the same
 * calls cross a Durable Object RPC boundary (structured clone) or stay in this process.
 */
import type { RateLimitResult, RateLimitRule } from '../quota/index.ts'

/** Asks for one permit of `name`, as waiter `id`, or re-attaches that waiter to its place. */
export interface AcquireRequest {
  /** The resource: one FIFO of waiters and one fencing-token counter per name. */
  name: string
  /** Chosen by the client and kept across retries, so a retried call finds its place in line. */
  id: string
  /** Holders allowed at once (1 for a lock). The latest caller's value is the one in force. */
  permits: number
  /** Lease granted: the holder must renew within this many milliseconds or lose the permit. */
  leaseMs: number
  /**
   * How long this call may wait inside the coordinator for the grant before answering "still
   * waiting" (a long poll). `0` answers at once. Each call also proves the waiter is alive:
   * a waiter that stops calling expires after about twice this time.
   */
  waitMs: number
}

/** Granted (with the fencing token), or still in line. */
export type AcquireReply =
  | { granted: true; token: number; expiresAt: number }
  | { granted: false; position: number }

/** Identifies one holder or waiter of `name`. */
export interface LeaseRef {
  name: string
  id: string
}

/** Renews a holder's lease for another `leaseMs`. */
export interface RenewRequest extends LeaseRef {
  leaseMs: number
}

/** Still held (until `expiresAt`), or lost: expired and passed on, or never held. */
export type RenewReply = { held: true; expiresAt: number } | { held: false }

/** What a release found: a holder (released), a waiter (removed from the line), or nothing. */
export type ReleaseReply = 'released' | 'cancelled' | 'unknown'

/** One resource's state, for diagnostics and tests. */
export interface ResourceSnapshot {
  permits: number
  /** The last fencing token handed out (0: never acquired). */
  lastToken: number
  holders: { id: string; token: number; expiresAt: number }[]
  /** In line, first to be granted first. */
  waiters: { id: string; expiresAt: number }[]
}

/**
 * Plain data (numbers, strings, arrays, plain objects) that a fenced value holds. Not a
 * recursive JSON type on purpose: tsc gives up comparing workerd's RPC types of a recursive
 * type with {@link CoordinatorStub}, and a Durable Object namespace would no longer fit
 * {@link CoordinatorNamespace}.
 */
export type PlainValue = string | number | boolean | null | object

/** A value kept by the coordinator and the highest fencing token that wrote it. */
export interface FencedValue {
  value: PlainValue
  fence: number
}

/** The coordinator's calls. Every method may return its answer directly or as a promise. */
export interface CoordinatorRpc {
  acquire(request: AcquireRequest): Promise<AcquireReply>
  renew(request: RenewRequest): RenewReply | Promise<RenewReply>
  release(request: LeaseRef): ReleaseReply | Promise<ReleaseReply>
  inspect(name: string): ResourceSnapshot | Promise<ResourceSnapshot>
  consume(key: string, rule: RateLimitRule): RateLimitResult | Promise<RateLimitResult>
  read(key: string): FencedValue | Promise<FencedValue>
  write(key: string, value: PlainValue, fence?: number): FencedWrite | Promise<FencedWrite>
}

/** A write refused because a writer with a higher fencing token was there first. */
export interface FencedWrite {
  written: boolean
  /** The highest fence seen for the key after this write. */
  fence: number
}

/** A stub of one coordinator object: the RPC methods, all asynchronous. */
export interface CoordinatorStub {
  acquire(request: AcquireRequest): Promise<AcquireReply>
  renew(request: RenewRequest): Promise<RenewReply>
  release(request: LeaseRef): Promise<ReleaseReply>
  inspect(name: string): Promise<ResourceSnapshot>
  consume(key: string, rule: RateLimitRule): Promise<RateLimitResult>
  read(key: string): Promise<FencedValue>
  write(key: string, value: PlainValue, fence?: number): Promise<FencedWrite>
}

/**
 * Where coordinator objects are found: the shape of a Durable Object namespace binding
 * (`env.COORDINATOR`), typed structurally so that runtime-neutral code needs no
 * `cloudflare:*` types, and also the shape of {@link createLocalCoordinator}'s result.
 */
export interface CoordinatorNamespace {
  idFromName(name: string): unknown
  // Method syntax on purpose: a Durable Object namespace's `get(id: DurableObjectId)` fits.
  get(id: unknown): CoordinatorStub
}

/** The coordinator object (and resource name inside it) of a lock or semaphore named `name`. */
export function resourceName(kind: 'lock' | 'semaphore', name: string): string {
  return `${kind}:${name}`
}
