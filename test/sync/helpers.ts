// Test helpers: microtask flushing (no timers, no sleeps) and signals that count listeners.

/** Runs queued microtasks (and what they queue) to quiescence, within `rounds` hops. */
export async function flush(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

/** Records how a promise settles, without awaiting it. */
export function track<T>(p: Promise<T>): {
  state: 'pending' | 'fulfilled' | 'rejected'
  value?: T
  reason?: unknown
} {
  const t: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = {
    state: 'pending',
  }
  p.then(
    (value) => {
      t.state = 'fulfilled'
      t.value = value
    },
    (reason: unknown) => {
      t.state = 'rejected'
      t.reason = reason
    }
  )
  return t
}

/**
 * An AbortController whose signal counts the abort listeners currently attached (a `once`
 * listener counts as gone once the signal has aborted).
 */
export function countingController(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController()
  const signal = controller.signal
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  const live = new Map<unknown, boolean>()
  signal.addEventListener = ((
    type: string,
    fn: EventListenerOrEventListenerObject,
    o?: unknown
  ) => {
    if (type === 'abort')
      live.set(fn, typeof o === 'object' && o !== null && 'once' in o && o.once === true)
    add(type, fn, o as AddEventListenerOptions)
  }) as typeof signal.addEventListener
  signal.removeEventListener = ((
    type: string,
    fn: EventListenerOrEventListenerObject,
    o?: unknown
  ) => {
    if (type === 'abort') live.delete(fn)
    remove(type, fn, o as EventListenerOptions)
  }) as typeof signal.removeEventListener
  const listeners = (): number =>
    signal.aborted ? [...live.values()].filter((once) => !once).length : live.size
  return { controller, listeners }
}
