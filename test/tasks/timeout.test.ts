import { describe, expect, it } from 'vitest'
import { isTimeoutError, TimeoutError, timeout } from '../../src/tasks/index.ts'

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

describe('timeout', () => {
  it('returns the value of work that finishes in time', async () => {
    expect(await timeout(10_000, async () => 'fast')).toBe('fast')
  })

  it('aborts the work at the deadline, waits for it, then rejects with TimeoutError', async () => {
    let settled = false
    const error = await timeout(1, async (signal) => {
      try {
        await untilAborted(signal)
      } finally {
        settled = true
      }
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).name).toBe('TimeoutError')
    expect(settled).toBe(true)
  })

  it('an unrelated failure wins over the timeout', async () => {
    const bad = new Error('bad')
    await expect(
      timeout(1, async (signal) => {
        await untilAborted(signal).catch(() => {})
        throw bad
      })
    ).rejects.toBe(bad)
  })

  it('an outer abort rejects with the outer reason, not TimeoutError', async () => {
    const outer = new AbortController()
    const run = timeout(60_000, (signal) => untilAborted(signal), { signal: outer.signal })
    outer.abort('outer')
    await expect(run).rejects.toBe('outer')
    await expect(timeout(1, () => 1, { signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
  })

  it('work that rejects with its own AbortError at the deadline rejects with TimeoutError', async () => {
    const error = await timeout(1, async (signal) => {
      await untilAborted(signal).catch(() => {})
      throw new DOMException('The operation was aborted.', 'AbortError')
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
  })
})

describe('isTimeoutError', () => {
  it("recognises edgeio's TimeoutError and the platform's, nothing else", async () => {
    expect(isTimeoutError(new TimeoutError('x'))).toBe(true)
    const platform = AbortSignal.timeout(1)
    const reason = await new Promise((resolve) =>
      platform.addEventListener('abort', () => resolve(platform.reason))
    )
    expect(isTimeoutError(reason)).toBe(true)
    expect(isTimeoutError(new DOMException('x', 'AbortError'))).toBe(false)
    expect(isTimeoutError(Object.assign(new Error('x'), { name: 'TimeoutErrorish' }))).toBe(false)
    expect(isTimeoutError('TimeoutError')).toBe(false)
    expect(isTimeoutError(undefined)).toBe(false)
  })
})
