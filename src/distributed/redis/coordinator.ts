/**
 * The coordinator on Redis: the shape of a Durable Object namespace (`idFromName`, `get`),
 * so that `DistributedLock`, `DistributedSemaphore` and `DistributedRateLimitStore` run on it
 * unchanged, across every process and machine that shares one Redis.
 *
 * How the Durable Object's promises are kept without one:
 * - Atomicity: every change is one Lua script (lease-scripts.ts) over the resource's state,
 *   on Redis's clock; nothing is read, decided and written from here.
 * - One slot per object: every key of object `O` carries the hash tag `{O}`
 *   (`edgeio:{O}:res:<name>`, `…:quota:<key>`, `…:val:<key>`, channel `…:wake`), so that each
 *   script touches one slot and the design runs on Redis Cluster unchanged.
 * - Long polls without an object to wait in: a call that is not granted waits here for a
 *   message on the object's channel naming its waiter id (published by the script that
 *   granted or cancelled it), bounded by its `waitMs` and by the earliest holder expiry,
 *   since Redis has no alarm to pass an expired lease on: at that time the waiter looks
 *   again, and that very look expires the lease and grants. No busy polling: one look per
 *   wake-up, per lease expiry or renewal period, and per `waitMs`.
 * - Failures: a call Redis does not answer within `timeoutMs`, or made while the connection
 *   is down, fails with `RedisUnavailableError` (retryable), which `lease.ts` retries with
 *   back-off and the same waiter id before giving up with `CoordinatorUnavailableError`.
 *   The connections reconnect by themselves and scripts are loaded again when Redis forgot
 *   them, so a coordinator outlives a Redis restart.
 */

import { type Cluster, Redis } from 'ioredis'
import type { RateLimitResult, RateLimitRule } from '../../quota/index.ts'
import { MAX_WAIT_MS, REATTACH_GRACE_MS } from '../coordinator.ts'
import type {
  AcquireReply,
  AcquireRequest,
  CoordinatorNamespace,
  CoordinatorStub,
  FencedValue,
  FencedWrite,
  LeaseRef,
  PlainValue,
  ReleaseReply,
  RenewReply,
  RenewRequest,
  ResourceSnapshot,
} from '../protocol.ts'
import {
  CONNECTION_OPTIONS,
  Deadlines,
  type LuaScript,
  type Mailbox,
  Subscriber,
  send,
  withinTime,
} from './client.ts'
import { ACQUIRE, INSPECT, RELEASE, RELEASE_REPLIES, RENEW, WRITE } from './lease-scripts.ts'
import { consumeQuota } from './quota.ts'

/** Tuning shared by both ways of connecting. */
export interface RedisCoordinatorTuning {
  /**
   * First part of every key and channel, so that several apps can share one Redis. No
   * braces: they would replace each object's hash tag. Default `'edgeio'`.
   */
  prefix?: string
  /**
   * How long one call waits for Redis's answer (including a reconnection under way) before
   * failing with `RedisUnavailableError`. It bounds how late a holder learns that Redis is
   * gone, so keep it well under the lease. Default 2 000 ms.
   */
  timeoutMs?: number
  /**
   * Test only: the clock in ms, passed to every script instead of Redis's `TIME`. Every
   * process sharing the resources must use the same clock.
   */
  now?: () => number
}

/**
 * Where the coordinator's commands go: a URL (the coordinator opens and closes its own
 * connections) or an ioredis client the caller owns (commands go through it; the
 * coordinator still opens one subscriber connection of its own, `client.duplicate()`).
 * The client may be a `Cluster`: each object's keys and channel share a hash tag, so each
 * call goes to the master owning it, and the subscriber is a duplicate with
 * `shardedSubscribers: true` (one connection per master, opened on the first wait).
 */
export type RedisCoordinatorOptions = ({ url: string } | { client: Redis | Cluster }) &
  RedisCoordinatorTuning

/** A Durable Object namespace look-alike whose objects are keys of one Redis. */
export interface RedisCoordinator extends CoordinatorNamespace {
  idFromName(name: string): string
  get(id: unknown): CoordinatorStub
  /**
   * Closes the subscriber connection, and the command connection when this coordinator
   * opened it. Calls still waiting fail; leases stay in Redis until they expire.
   */
  close(): Promise<void>
}

/** The key names of one coordinator object: one hash tag, so one Redis Cluster slot. */
export interface ObjectKeys {
  resource(name: string): string
  quota(key: string): string
  value(key: string): string
  /** The shard channel on which its scripts wake waiting calls. */
  readonly channel: string
}

/**
 * The keys of object `objectName` under `prefix`. Braces and `%` in the name are escaped,
 * and an empty name written `%`, so that the hash tag is exactly the object's (Redis hashes
 * the text between the first `{` and the next `}`, and a whole key when that is empty).
 *
 * @example
 * ```ts
 * objectKeys('edgeio', 'lock:invoices').resource('lock:invoices')
 * // 'edgeio:{lock:invoices}:res:lock:invoices'
 * ```
 */
export function objectKeys(prefix: string, objectName: string): ObjectKeys {
  const tag = objectName === '' ? '%' : objectName.replaceAll('%', '%25').replaceAll('}', '%7D')
  const base = `${prefix}:{${tag}}`
  return {
    // The lease scripts cut the channel and the name from this key (lease-scripts.ts, STATE).
    resource: (name) => `${base}:res:${name}`,
    quota: (key) => `${base}:quota:${key}`,
    value: (key) => `${base}:val:${key}`,
    channel: `${base}:wake`,
  }
}

/** What every object of one coordinator shares. */
interface Shared {
  readonly client: Redis | Cluster
  readonly subscriber: Subscriber
  readonly prefix: string
  /**
   * The bound `send` puts on each call (`timeoutMs`): one timer for every call, rather than
   * one per call (ioredis's `commandTimeout`, or `withinTime`).
   */
  readonly bound: Deadlines
  readonly now: (() => number) | undefined
  /**
   * Joining acquire scripts under way, by channel, resource and waiter id. A release of the
   * same id waits for its join: calls on one connection reach Redis in order, except a
   * script Redis had forgotten (NOSCRIPT), which is sent again after whatever followed it,
   * and a cancel overtaking its join would leave a waiter (or a grant) behind.
   */
  readonly joining: Map<string, Promise<unknown>>
  closed: boolean
}

/** A waiting reply with what the wait loop needs besides the position. */
interface InLine {
  granted: false
  position: number
  /** Redis's time when it answered. */
  now: number
  /** The last token handed out then: a wake message granting a lower one is older. */
  lastToken: number
  /** The earliest holder expiry (-1: no holder): look again then, no alarm will. */
  deadline: number
}

type Step = Extract<AcquireReply, { granted: true }> | InLine

/**
 * Creates a coordinator over Redis (or Valkey): locks, semaphores, rate-limit quotas and
 * fenced values shared by every process using the same Redis, with the same promises as the
 * Durable Object (FIFO, leases, fencing tokens rising per name for as long as Redis keeps
 * its data). Creating it connects (with `{ url }`) but waits for nothing.
 *
 * @example
 * ```ts
 * import { DistributedLock } from 'edgeio'
 * import { createRedisCoordinator } from 'edgeio/redis'
 *
 * const coordinator = createRedisCoordinator({ url: process.env.REDIS_URL! })
 * app.post('/invoices/:id/pay', async (c) => {
 *   const lock = new DistributedLock(coordinator, `invoice:${c.req.param('id')}`)
 *   return lock.run(async ({ token }) => c.json(await pay(c.req.param('id'), { fence: token })))
 * })
 * onShutdown(() => coordinator.close())
 * ```
 */
export function createRedisCoordinator(options: RedisCoordinatorOptions): RedisCoordinator {
  const prefix = options.prefix ?? 'edgeio'
  if (/[{}]/.test(prefix)) throw new RangeError('prefix must not contain braces')
  const timeoutMs = options.timeoutMs ?? 2_000
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0')
  let client: Redis | Cluster
  let openSubscriber: () => Redis | Cluster
  let owned: boolean
  if ('url' in options) {
    owned = true
    const url = options.url
    client = new Redis(url, CONNECTION_OPTIONS)
    client.on('error', () => {}) // reported through the calls that fail
    openSubscriber = () => new Redis(url, CONNECTION_OPTIONS)
  } else {
    owned = false
    const given = options.client
    client = given
    // The caller's `keyPrefix` would prefix channels (ioredis treats them as keys) but not
    // the channel name the scripts publish to.
    openSubscriber = given.isCluster
      ? // SSUBSCRIBE on a Cluster needs its sharded subscribers (off by default).
        () =>
          (given as Cluster).duplicate([], {
            shardedSubscribers: true,
            keyPrefix: '',
            redisOptions: { ...CONNECTION_OPTIONS, keyPrefix: '' },
          })
      : () => (given as Redis).duplicate({ ...CONNECTION_OPTIONS, keyPrefix: '' })
  }
  const shared: Shared = {
    client,
    subscriber: new Subscriber(openSubscriber, timeoutMs),
    prefix,
    bound: new Deadlines(timeoutMs),
    now: options.now,
    joining: new Map(),
    closed: false,
  }

  return {
    idFromName: (name) => name,
    get(id) {
      if (typeof id !== 'string') throw new TypeError('Not an id from idFromName()')
      return new RedisObject(shared, id)
    },
    async close() {
      if (shared.closed) return
      shared.closed = true
      shared.subscriber.close()
      shared.bound.close()
      if (!owned) return
      // QUIT lets replies under way arrive; a Redis that is gone gets no more than the timeout.
      await withinTime(client.quit(), timeoutMs, 'QUIT').catch(() => {})
      client.disconnect()
    },
  }
}

/** One coordinator object: its calls, each one script or one command. */
class RedisObject implements CoordinatorStub {
  readonly #shared: Shared
  readonly #keys: ObjectKeys

  constructor(shared: Shared, objectName: string) {
    this.#shared = shared
    this.#keys = objectKeys(shared.prefix, objectName)
  }

  /**
   * Joins the line (or finds its place again: same `id`), then waits up to `waitMs` for the
   * grant. No wake-up is lost: when this process is subscribed to the object's channel, the
   * call's mailbox is open before the script is sent; when it is not, nothing published
   * before the subscription is confirmed can reach it, and the call looks again once it is.
   * An uncontended call thus opens no mailbox: nobody here waits on the object.
   */
  async acquire(request: AcquireRequest): Promise<AcquireReply> {
    checkAcquire(request)
    const { name, id } = request
    const { subscriber } = this.#shared
    const channel = this.#keys.channel
    // Subscribed and confirmed before the script is sent: its later wake-ups reach us.
    const before = subscriber.current(channel)
    let box = before && subscriber.open(channel, name, id)
    try {
      let step = await this.#look(request, true)
      if (step.granted || request.waitMs === 0) return reply(step)
      const endAt = Date.now() + request.waitMs
      box ||= subscriber.open(channel, name, id)
      const subscription = await subscriber.subscribe(channel)
      try {
        // Subscribed (or our mailbox opened) only after the script: a grant made since may
        // have gone unheard.
        if (subscription !== before) step = await this.#look(request, false)
        return await this.#wait(request, box, step, endAt)
      } finally {
        subscriber.unsubscribe(subscription)
      }
    } finally {
      if (box) subscriber.shut(channel, name, id, box)
    }
  }

  /**
   * The long poll: until `endAt`, sleeps until a wake message or the earliest holder expiry
   * (no alarm will expire it), then looks again. A grant carried by a message needs no look.
   */
  async #wait(request: AcquireRequest, box: Mailbox, step: Step, endAt: number) {
    for (;;) {
      if (step.granted || step.position === 0) return reply(step)
      const grant = box.takeGrant(step.lastToken)
      if (grant) return { granted: true as const, ...grant }
      if (!box.takePoke()) {
        const left = endAt - Date.now()
        if (left <= 0) return reply(step)
        // +1: a lease is alive while its expiry is later than now.
        const toExpiry = step.deadline >= 0 ? step.deadline - step.now + 1 : left
        if (await box.next(Math.min(left, toExpiry))) continue
        if (left <= toExpiry) return reply(step)
      }
      step = await this.#look(request, false)
    }
  }

  async renew(request: RenewRequest): Promise<RenewReply> {
    if (!(request.leaseMs > 0 && Number.isFinite(request.leaseMs))) {
      throw new RangeError('leaseMs must be a finite number > 0')
    }
    const [held, expiresAt] = await this.#resource(RENEW, request.name, [
      request.id,
      String(request.leaseMs),
    ])
    return held === '1' ? { held: true, expiresAt: Number(expiresAt) } : { held: false }
  }

  async release(ref: LeaseRef): Promise<ReleaseReply> {
    const { joining } = this.#shared
    // Empty but for joins under way (no key to build for the usual release, after its grant).
    const join = joining.size > 0 ? joining.get(this.#waiterKey(ref.name, ref.id)) : undefined
    if (join) await join.catch(() => {})
    const [found] = await this.#resource(RELEASE, ref.name, [ref.id])
    return RELEASE_REPLIES[Number(found)] as ReleaseReply
  }

  async inspect(name: string): Promise<ResourceSnapshot> {
    const [json = '{}'] = await this.#resource(INSPECT, name, [], false)
    const r = JSON.parse(json) as ResourceSnapshot
    return {
      permits: r.permits,
      lastToken: r.lastToken,
      holders: r.holders.map(({ id, token, expiresAt }) => ({ id, token, expiresAt })),
      waiters: r.waiters.map(({ id, expiresAt }) => ({ id, expiresAt })),
    }
  }

  async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const { client, now } = this.#open()
    return send('consume', this.#shared.bound, () =>
      consumeQuota(client, this.#keys.quota(key), rule, now?.())
    )
  }

  async read(key: string): Promise<FencedValue> {
    const { client } = this.#open()
    const [value, fence] = await send('read', this.#shared.bound, () =>
      client.hmget(this.#keys.value(key), 'value', 'fence')
    )
    return {
      value: value == null ? null : (JSON.parse(value) as PlainValue),
      fence: Number(fence ?? 0),
    }
  }

  async write(key: string, value: PlainValue, fence = 0): Promise<FencedWrite> {
    if (!Number.isFinite(fence)) throw new RangeError('fence must be a finite number')
    const json = JSON.stringify(value) as string | undefined
    if (json === undefined) throw new TypeError('value must be JSON-serialisable')
    const { client } = this.#open()
    const text = await send('write', this.#shared.bound, () =>
      WRITE.run(client, [this.#keys.value(key)], [json, String(fence)])
    )
    const [written, after] = String(text).split(' ')
    return { written: written === '1', fence: Number(after) }
  }

  /** The acquire script: joining the line (`join`), or only looking after a wake-up. */
  async #look(request: AcquireRequest, join: boolean): Promise<Step> {
    const { id, permits, leaseMs, waitMs } = request
    // '2': a join whose id JSON would not escape, which the script's fast path may write as
    // it is (lease-scripts.ts, FAST_ACQUIRE).
    const mode = join ? (ESCAPED.test(id) ? '1' : '2') : '0'
    const args = [id, mode, String(permits), String(leaseMs), String(waitMs)]
    args.push(String(REATTACH_GRACE_MS))
    const sent = this.#resource(ACQUIRE, request.name, args)
    let reply: string[]
    if (join) {
      const { joining } = this.#shared
      const key = this.#waiterKey(request.name, id)
      joining.set(key, sent)
      try {
        reply = await sent
      } finally {
        // Gone before anyone awaiting this call resumes: only a release racing it waits.
        if (joining.get(key) === sent) joining.delete(key)
      }
    } else reply = await sent
    const [granted, a, b, c, d] = reply
    if (granted === '1') return { granted: true, token: Number(a), expiresAt: Number(b) }
    return {
      granted: false,
      position: Number(a),
      now: Number(b),
      lastToken: Number(c),
      deadline: Number(d),
    }
  }

  #waiterKey(name: string, id: string): string {
    return `${this.#keys.channel}\u0000${name}\u0000${id}`
  }

  /**
   * Runs a resource script: its reply split at spaces (`split` false: whole). The test clock,
   * if any, goes after `args`; the scripts cut the channel and the name from the key.
   */
  async #resource(
    script: LuaScript,
    name: string,
    args: string[],
    split = true
  ): Promise<string[]> {
    const { client, now } = this.#open()
    if (now) args.push(String(now()))
    const keys = [this.#keys.resource(name)]
    const text = String(
      await send(`${script.name} ${name}`, this.#shared.bound, () => script.run(client, keys, args))
    )
    return split ? text.split(' ') : [text]
  }

  #open(): Shared {
    if (this.#shared.closed) throw new Error('this Redis coordinator is closed')
    return this.#shared
  }
}

/** A character that Lua's cjson escapes in a string: a control character, `"`, `\\`, `/`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const ESCAPED = /[\u0000-\u001f"\\/\u007f]/

function checkAcquire(request: AcquireRequest): void {
  if (!Number.isInteger(request.permits) || request.permits < 1) {
    throw new RangeError('permits must be an integer >= 1')
  }
  if (!(request.leaseMs > 0 && Number.isFinite(request.leaseMs))) {
    throw new RangeError('leaseMs must be a finite number > 0')
  }
  if (!(request.waitMs >= 0 && request.waitMs <= MAX_WAIT_MS)) {
    throw new RangeError(`waitMs must be between 0 and ${MAX_WAIT_MS}`)
  }
  if (typeof request.id !== 'string' || request.id === '') throw new TypeError('id is required')
}

function reply(step: Step): AcquireReply {
  if (step.granted) return step
  return { granted: false, position: step.position }
}
