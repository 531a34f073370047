/**
 * The Redis coordinator's connections: the ioredis options that make a call fail fast while
 * Redis is down and reconnect by themselves afterwards, a bounded command call, Lua scripts
 * run by SHA, and the one subscriber connection through which waiting calls are woken.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { RedisUnavailableError, redisFailure } from './errors.ts'

/**
 * Options of the connections the coordinator opens itself (the subscriber always; the command
 * connection too when given a URL):
 * - `maxRetriesPerRequest: 0`: when a connection drops, the commands it carried fail at once
 *   (ioredis would otherwise replay them across 20 reconnections, minutes of waiting) and so
 *   do the commands queued while it reconnects, at each failed attempt. A lease call that
 *   fails is retried by `lease.ts` with back-off and the same waiter id, which is safe.
 * - `enableOfflineQueue` stays on: a command made while the connection is being made (just
 *   after start, or during a reconnection about to succeed) waits for it rather than fail.
 *   Every call is bounded anyway by the coordinator's own timeout ({@link Deadlines}).
 * - `retryStrategy`: reconnect for ever, 50 ms doubling to at most 1 s apart, so that a
 *   restarted Redis is found again within about a second and no coordinator needs recreating.
 * - `reconnectOnError` on `READONLY`: after a failover the old primary answers as a replica;
 *   a new connection finds the new primary (behind a DNS name or a proxy).
 * - `autoResubscribe` (the default) re-joins the subscriber's channels after a reconnection.
 * - No `commandTimeout`: the coordinator bounds each call itself (its `timeoutMs`, one timer
 *   for all calls: {@link Deadlines}), on its own connection as on a caller's client; a call
 *   unanswered by then (a Redis paused or cut off, or still reconnecting) fails.
 */
export const CONNECTION_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 0,
  enableOfflineQueue: true,
  autoResubscribe: true,
  retryStrategy: (attempt) => Math.min(50 * 2 ** (attempt - 1), 1_000),
  reconnectOnError: (error) => error.message.startsWith('READONLY'),
}

/** Bounds `promise` by `ms`: a command still unanswered then counts as Redis unavailable. */
export function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisUnavailableError(`${what}: no answer from Redis within ${ms} ms`)),
      ms
    )
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

/** A call bounded by {@link Deadlines}: a link of its queue. */
interface Bounded {
  /** `performance.now()` past which it fails. */
  readonly at: number
  readonly what: string
  fail: ((error: Error) => void) | undefined
  prev: Bounded | undefined
  next: Bounded | undefined
}

/**
 * Bounds calls by one time, `ms`, as {@link withinTime} does, with one timer for them all
 * instead of a timer set and cleared per call (which costs a few µs, a few % of a loopback
 * round trip). Every call gets the same `ms`, so deadlines fall in the order calls are made:
 * a queue, whose head is the earliest. The timer is set for the head; when it fires it fails
 * the calls past due and is set again for the first call left. A call answered leaves the
 * queue at once (a linked list) but the timer stays: a steady stream of calls sets about one
 * timer per `ms`, not one per call. The clock is `performance.now()`, which a change of the
 * system's time does not move, like a timer's.
 */
export class Deadlines {
  readonly #ms: number
  #head: Bounded | undefined
  #tail: Bounded | undefined
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(ms: number) {
    this.#ms = ms
  }

  /**
   * Settles like `promise` (a failure sorted by {@link redisFailure}), or fails with
   * `RedisUnavailableError` after `ms`.
   */
  bound<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: Bounded = {
        at: performance.now() + this.#ms,
        what,
        fail: reject,
        prev: this.#tail,
        next: undefined,
      }
      if (this.#tail) this.#tail.next = call
      else this.#head = call
      this.#tail = call
      this.#timer ??= this.#arm(this.#ms)
      promise.then(
        (value) => {
          this.#remove(call)
          resolve(value)
        },
        (error: unknown) => {
          this.#remove(call)
          reject(redisFailure(what, error))
        }
      )
    })
  }

  /** Stops the timer if no call is under way (those under way keep their bound). */
  close(): void {
    if (this.#head) return
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #remove(call: Bounded): void {
    if (call.fail === undefined) return // failed already, and taken out then
    call.fail = undefined
    if (call.prev) call.prev.next = call.next
    else this.#head = call.next
    if (call.next) call.next.prev = call.prev
    else this.#tail = call.prev
  }

  #arm(ms: number): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => this.#expire(), Math.max(0, ms))
    // On Node, a pending call's socket keeps the process alive, not this timer.
    ;(timer as { unref?: () => void }).unref?.()
    return timer
  }

  #expire(): void {
    this.#timer = undefined
    const now = performance.now()
    for (let call = this.#head; call && call.at <= now; call = this.#head) {
      const fail = call.fail as (error: Error) => void
      this.#remove(call)
      fail(new RedisUnavailableError(`${call.what}: no answer from Redis within ${this.#ms} ms`))
    }
    if (this.#head) this.#timer = this.#arm(this.#head.at - now)
  }
}

/**
 * Runs one Redis call, bounded by `bound` (a time in ms, or {@link Deadlines}; `undefined`
 * when the connection bounds it itself), its failures sorted by {@link redisFailure}.
 */
export function send<T>(
  what: string,
  bound: Deadlines | number | undefined,
  call: () => Promise<T>
): Promise<T> {
  let sent: Promise<T>
  try {
    sent = call()
  } catch (error) {
    return Promise.reject(redisFailure(what, error))
  }
  // No async wrapper on the way of every lease call: `Deadlines` sorts failures itself.
  if (bound instanceof Deadlines) return bound.bound(sent, what)
  if (bound !== undefined) {
    sent.catch(() => {}) // after a timeout its late failure is nobody's business
    sent = withinTime(sent, bound, what)
  }
  return sent.catch((error: unknown) => {
    throw redisFailure(what, error)
  })
}

/**
 * A Lua script run by its SHA-1 (EVALSHA), and by its text (EVAL, which also caches it) when
 * Redis does not know it: the first time, and after a restart, a failover or SCRIPT FLUSH.
 * A plain call rather than ioredis's `defineCommand`, which would add a method to a client
 * the caller owns.
 */
export class LuaScript {
  /** For error messages. */
  readonly name: string
  readonly source: string
  #sha: string | undefined
  #hashing: Promise<void> | undefined

  constructor(name: string, source: string) {
    this.name = name
    this.source = source
  }

  /**
   * Sends the script at once (no `await` before the command is written), so that calls on
   * one connection reach Redis in the order they were made.
   */
  run(client: Redis | Cluster, keys: string[], args: string[]): Promise<unknown> {
    if (this.#sha === undefined) {
      // The text loads the script while its hash is computed (Web Crypto: any runtime).
      this.#hashing ??= crypto.subtle
        .digest('SHA-1', new TextEncoder().encode(this.source))
        .then((digest) => {
          this.#sha = Array.from(new Uint8Array(digest), (b) =>
            b.toString(16).padStart(2, '0')
          ).join('')
        })
      return client.eval(this.source, keys.length, ...keys, ...args)
    }
    return client.evalsha(this.#sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error
      return client.eval(this.source, keys.length, ...keys, ...args)
    })
  }
}

/** A grant carried by a wake message: the lease itself, no further call needed. */
export interface Grant {
  token: number
  expiresAt: number
}

/**
 * The wake-ups of one waiting call: pokes ("your state changed, look") and grants, kept
 * until the call reads them, so that one arriving before the call waits is not lost.
 */
export class Mailbox {
  readonly #grants: Grant[] = []
  #poked = false
  #notify: (() => void) | undefined

  deliver(grant?: Grant): void {
    if (grant) this.#grants.push(grant)
    else this.#poked = true
    this.#notify?.()
  }

  /**
   * A grant newer than the call's last reply (a token above `lastToken`): an older one was
   * made before that reply and may be gone since, whereas tokens only rise.
   */
  takeGrant(lastToken: number): Grant | undefined {
    const grant = this.#grants.find((g) => g.token > lastToken)
    this.#grants.length = 0
    return grant
  }

  takePoke(): boolean {
    const poked = this.#poked
    this.#poked = false
    return poked
  }

  /** Resolves `true` on the next delivery (or one already waiting), `false` after `ms`. */
  next(ms: number): Promise<boolean> {
    if (this.#poked || this.#grants.length > 0) return Promise.resolve(true)
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#notify = undefined
        resolve(false)
      }, ms)
      this.#notify = () => {
        clearTimeout(timer)
        this.#notify = undefined
        resolve(true)
      }
    })
  }
}

/** One channel of the subscriber connection, shared by the calls waiting on it. */
export interface Channel {
  readonly name: string
  /** Calls waiting on it: the last to leave unsubscribes. */
  refs: number
  /** Settles once Redis confirmed the subscription. */
  confirmed: Promise<void>
  /** Confirmed: messages published from now on reach this process. */
  ready: boolean
}

interface WakeMessage {
  name: string
  touched: string[]
  granted: [string, number, number][]
}

/**
 * The one subscriber connection of a coordinator: reference-counted shard channels (one per
 * coordinator object) and the mailboxes of the calls waiting on them. Opened on the first
 * wait, so that a coordinator used only for rate limits never opens it.
 *
 * Messages lost while it reconnects are made up for: once it is back (channels subscribed
 * again, known by a PING answered after them), every waiting call is poked to look again.
 * When it drops, every waiting call is poked too, so that it finds out whether Redis is
 * still there instead of waiting out its long poll.
 */
export class Subscriber {
  readonly #open: () => Redis | Cluster
  readonly #timeoutMs: number
  readonly #channels = new Map<string, Channel>()
  readonly #boxes = new Map<string, Set<Mailbox>>()
  #connection: Redis | Cluster | undefined
  #closed = false

  constructor(open: () => Redis | Cluster, timeoutMs: number) {
    this.#open = open
    this.#timeoutMs = timeoutMs
  }

  /** Registers a mailbox for waiter `id` of resource `name` on `channel`. */
  open(channel: string, name: string, id: string): Mailbox {
    const key = boxKey(channel, name, id)
    let boxes = this.#boxes.get(key)
    if (!boxes) {
      boxes = new Set()
      this.#boxes.set(key, boxes)
    }
    const box = new Mailbox()
    boxes.add(box)
    return box
  }

  shut(channel: string, name: string, id: string, box: Mailbox): void {
    const key = boxKey(channel, name, id)
    const boxes = this.#boxes.get(key)
    boxes?.delete(box)
    if (boxes?.size === 0) this.#boxes.delete(key)
  }

  /** The channel if it is subscribed and confirmed right now, else `undefined`. */
  current(name: string): Channel | undefined {
    const channel = this.#channels.get(name)
    return channel?.ready ? channel : undefined
  }

  /** Takes a reference to `name`, subscribing to it first if nobody here is. */
  async subscribe(name: string): Promise<Channel> {
    if (this.#closed) throw new Error('this Redis coordinator is closed')
    let channel = this.#channels.get(name)
    if (!channel) {
      const connection = this.#connect()
      const created: Channel = { name, refs: 0, confirmed: Promise.resolve(), ready: false }
      created.confirmed = send('SSUBSCRIBE', this.#timeoutMs, () =>
        connection.ssubscribe(name)
      ).then(
        () => {
          created.ready = true
        },
        (error: unknown) => {
          if (this.#channels.get(name) === created) this.#channels.delete(name)
          connection.sunsubscribe(name).catch(() => {})
          throw error
        }
      )
      this.#channels.set(name, created)
      channel = created
    }
    channel.refs++
    try {
      await channel.confirmed
    } catch (error) {
      channel.refs--
      throw error
    }
    return channel
  }

  /** Gives back a reference; the last one unsubscribes. */
  unsubscribe(channel: Channel): void {
    if (--channel.refs > 0 || this.#channels.get(channel.name) !== channel) return
    this.#channels.delete(channel.name)
    this.#connection?.sunsubscribe(channel.name).catch(() => {})
  }

  /** Pokes every waiting call (they look again: on close, they find the coordinator closed). */
  pokeAll(): void {
    for (const boxes of this.#boxes.values()) for (const box of boxes) box.deliver()
  }

  close(): void {
    this.#closed = true
    this.#connection?.disconnect()
    this.#connection = undefined
    this.#channels.clear()
    this.pokeAll()
  }

  #connect(): Redis | Cluster {
    if (this.#connection) return this.#connection
    const connection = this.#open()
    connection.on('error', () => {}) // reported through the calls that fail
    connection.on('smessage', (channel: string, message: string) =>
      this.#dispatch(channel, message)
    )
    let dropped = false
    connection.on('close', () => {
      dropped = true
      this.pokeAll()
    })
    // On a Cluster (`shardedSubscribers`: one subscriber connection per master, which the
    // Cluster replaces and re-subscribes by itself), a node's connection lost, and all of
    // them back with their channels: the same pokes as a single connection's close and ready.
    connection.on('-node', () => {
      dropped = true
      this.pokeAll()
    })
    connection.on(connection.isCluster ? 'subscribersReady' : 'ready', () => {
      if (!dropped) return // the first connection: nothing was missed
      // Emitted once the re-subscriptions are sent: a PING answered after them means
      // they are in force, and whatever was published before is to be looked up.
      send('PING', this.#timeoutMs, () => connection.ping()).then(
        () => this.pokeAll(),
        () => {}
      )
    })
    this.#connection = connection
    return connection
  }

  #dispatch(channel: string, text: string): void {
    let message: WakeMessage
    try {
      message = JSON.parse(text) as WakeMessage
    } catch {
      return // not ours
    }
    for (const id of message.touched ?? []) {
      for (const box of this.#boxes.get(boxKey(channel, message.name, id)) ?? []) box.deliver()
    }
    for (const [id, token, expiresAt] of message.granted ?? []) {
      const boxes = this.#boxes.get(boxKey(channel, message.name, id)) ?? []
      for (const box of boxes) box.deliver({ token, expiresAt })
    }
  }
}

function boxKey(channel: string, name: string, id: string): string {
  return `${channel}\u0000${name}\u0000${id}`
}
