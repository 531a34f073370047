import { afterEach, describe, expect, test } from 'vitest'
import { recorder } from '../../test/sync/recording.ts'
import { setInstrumentation } from '../telemetry/instrumentation.ts'
import type { JobRunner } from './pool.ts'
import { PoolExecutor } from './pool.ts'

// Queue and run time of executor jobs, reported only while an instrumentation is installed.

type Tasks = { work: (arg: string) => string }

function setup() {
  const finish: ((ok: boolean) => void)[] = []
  const runner: JobRunner = {
    run() {
      const { promise, resolve, reject } = Promise.withResolvers<unknown>()
      finish.push((ok) => (ok ? resolve('done') : reject(new Error('task failed'))))
      return promise
    },
    async close() {},
  }
  return { executor: new PoolExecutor<Tasks>(runner, { size: 1, name: 'cpu' }, 1), finish }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

afterEach(() => {
  setInstrumentation(undefined)
})

describe('executor telemetry', () => {
  test('records queue time per job and run time with its outcome', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const { executor, finish } = setup()
    const first = executor.run('work', 'a')
    const second = executor.run('work', 'b') // waits for the only slot
    const c = new AbortController()
    const third = executor.run('work', 'c', { signal: c.signal })
    await flush()
    expect(rec.recorded.map((m) => m.metric)).toEqual(['edgeio.executor.queue.duration'])
    c.abort()
    await expect(third).rejects.toBeDefined()
    finish[0]?.(true)
    await first
    await flush()
    finish[1]?.(false)
    await expect(second).rejects.toThrow('task failed')
    await flush()
    const seen = rec.recorded.map((m) => [m.metric, m.attributes])
    expect(seen).toEqual([
      ['edgeio.executor.queue.duration', { 'edgeio.executor.task': 'work', 'edgeio.name': 'cpu' }],
      ['edgeio.executor.queue.duration', { 'edgeio.executor.task': 'work', 'edgeio.name': 'cpu' }],
      [
        'edgeio.executor.run.duration',
        { 'edgeio.executor.task': 'work', 'edgeio.name': 'cpu', 'edgeio.executor.outcome': 'ok' },
      ],
      ['edgeio.executor.queue.duration', { 'edgeio.executor.task': 'work', 'edgeio.name': 'cpu' }],
      [
        'edgeio.executor.run.duration',
        {
          'edgeio.executor.task': 'work',
          'edgeio.name': 'cpu',
          'edgeio.executor.outcome': 'error',
        },
      ],
    ])
    for (const m of rec.recorded) expect(m.value).toBeGreaterThanOrEqual(0)
  })

  test('stops recording when the instrumentation is removed', async () => {
    const rec = recorder()
    setInstrumentation(rec.instrumentation)
    const { executor, finish } = setup()
    setInstrumentation(undefined)
    const job = executor.run('work', 'a')
    await flush()
    finish[0]?.(true)
    await job
    expect(rec.recorded).toEqual([])
  })
})
