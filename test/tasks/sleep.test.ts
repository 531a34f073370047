import { describe, expect, it } from 'vitest'
import { sleep } from '../../src/tasks/index.ts'

describe('sleep', () => {
  it('resolves', async () => {
    await expect(sleep(1)).resolves.toBeUndefined()
  })

  it('rejects at once when already aborted, and on abort', async () => {
    await expect(sleep(1, { signal: AbortSignal.abort('pre') })).rejects.toBe('pre')
    const c = new AbortController()
    const p = sleep(60_000, { signal: c.signal })
    c.abort('stop')
    await expect(p).rejects.toBe('stop')
  })
})
