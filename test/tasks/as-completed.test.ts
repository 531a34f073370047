import { describe, expect, it } from 'vitest'
import { asCompleted } from '../../src/tasks/index.ts'

function deferred<T>(): {
  promise: Promise<T>
  resolve: (v: T) => void
  reject: (e: unknown) => void
} {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('asCompleted', () => {
  it('yields in completion order', async () => {
    const a = deferred<string>()
    const b = deferred<string>()
    const c = deferred<string>()
    const out: string[] = []
    const loop = (async () => {
      for await (const v of asCompleted([a.promise, b.promise, c.promise, 'now'])) out.push(v)
    })()
    c.resolve('c')
    await Promise.resolve()
    a.resolve('a')
    b.resolve('b')
    await loop
    expect(out).toEqual(['now', 'c', 'a', 'b'])
  })

  it('throws a rejection at its turn; the rest are not unhandled', async () => {
    const bad = new Error('bad')
    const out: number[] = []
    const run = (async () => {
      for await (const v of asCompleted([
        Promise.resolve(1),
        Promise.reject(bad),
        Promise.resolve(3),
      ])) {
        out.push(v)
      }
    })()
    await expect(run).rejects.toBe(bad)
    expect(out).toEqual([1])
  })

  it('ends with signal.reason on abort', async () => {
    const c = new AbortController()
    const never = new Promise<number>(() => {})
    const run = (async () => {
      for await (const _ of asCompleted([never], { signal: c.signal })) {
        // nothing arrives
      }
    })()
    c.abort('stop')
    await expect(run).rejects.toBe('stop')
  })
})
