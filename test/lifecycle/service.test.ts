import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { describe, expect, test, vi } from 'vitest'
import { errorHandler, Service } from '../../src/index.ts'
import { toService } from '../../src/internal.ts'

function recorder() {
  const events: string[] = []
  const service = new Service(new Hono())
  return { events, service }
}

describe('Service lifecycle', () => {
  test('startup runs in registration order, cleanup in reverse', async () => {
    const { events, service } = recorder()
    service.onStartup(() => void events.push('start a'))
    service.cleanupCtx(async function* () {
      events.push('ctx b up')
      yield
      events.push('ctx b down')
    })
    service.onCleanup(() => void events.push('cleanup c'))
    service.onStartup(() => void events.push('start d'))
    await service.startup()
    expect(service.state).toBe('started')
    await service.cleanup()
    expect(events).toEqual(['start a', 'ctx b up', 'start d', 'cleanup c', 'ctx b down'])
    expect(service.state).toBe('stopped')
  })

  test('startup runs once however often it is called', async () => {
    const { events, service } = recorder()
    service.onStartup(async () => {
      await Promise.resolve()
      events.push('start')
    })
    await Promise.all([service.startup(), service.startup(), service.startup()])
    await service.startup()
    expect(events).toEqual(['start'])
  })

  test('a failing startup cleans up exactly the steps that finished, then rethrows', async () => {
    const { events, service } = recorder()
    const boom = new Error('boom')
    service.cleanupCtx(async function* () {
      events.push('a up')
      yield
      events.push('a down')
    })
    service.onCleanup(() => void events.push('cleanup b'))
    service.cleanupCtx(async function* () {
      events.push('c up')
      if (boom) throw boom
      yield
    })
    service.cleanupCtx(async function* () {
      events.push('never up')
      yield
      events.push('never down')
    })
    service.onCleanup(() => void events.push('never cleanup'))
    await expect(service.startup()).rejects.toBe(boom)
    expect(events).toEqual(['a up', 'c up', 'cleanup b', 'a down'])
    expect(service.state).toBe('failed')
  })

  test('a failed startup can be retried', async () => {
    const { service } = recorder()
    let attempts = 0
    service.onStartup(() => {
      if (++attempts === 1) throw new Error('first attempt fails')
    })
    await expect(service.startup()).rejects.toThrow('first attempt fails')
    await service.startup()
    expect(attempts).toBe(2)
    expect(service.state).toBe('started')
  })

  test('every cleanup runs even when some fail; the failures come back together', async () => {
    const { events, service } = recorder()
    service.onCleanup(() => void events.push('first registered'))
    service.onCleanup(() => {
      throw new Error('second fails')
    })
    service.onCleanup(() => {
      throw new Error('third fails')
    })
    await service.startup()
    const error = await service.cleanup().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregateError)
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'third fails',
      'second fails',
    ])
    expect(events).toEqual(['first registered'])
  })

  test('cleanup without startup runs nothing', async () => {
    const { events, service } = recorder()
    service.onCleanup(() => void events.push('cleanup'))
    await service.cleanup()
    expect(events).toEqual([])
  })

  test('a cleanup context must yield exactly once', async () => {
    const never = new Service(new Hono()).cleanupCtx(async function* () {})
    await expect(never.startup()).rejects.toThrow('finished without yielding')

    const twice = new Service(new Hono()).cleanupCtx(async function* () {
      yield
      yield
    })
    await twice.startup()
    await expect(twice.cleanup()).rejects.toThrow(AggregateError)
  })

  test('shutdown hooks run in order; a failing one is logged and the rest still run', async () => {
    const { events, service } = recorder()
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    service.onShutdown(() => void events.push('one'))
    service.onShutdown(() => {
      throw new Error('two fails')
    })
    service.onShutdown(() => void events.push('three'))
    await service.startup()
    await service.shutdown()
    expect(events).toEqual(['one', 'three'])
    expect(service.state).toBe('stopping')
    expect(error).toHaveBeenCalledWith('edgeio: shutdown hook failed:', expect.any(Error))
    error.mockRestore()
  })

  test('hooks receive the service; fetch is the app', async () => {
    const app = new Hono().get('/', (c) => c.text('hi'))
    const service = new Service(app)
    let seen: unknown
    service.onStartup((s) => {
      seen = s
    })
    await service.startup()
    expect(seen).toBe(service)
    expect(await (await service.fetch(new Request('http://x/'))).text()).toBe('hi')
  })

  test('toService wraps a bare Hono app and passes a Service through', () => {
    const app = new Hono()
    const service = new Service(app)
    expect(toService(service)).toBe(service)
    expect(toService(app).app).toBe(app)
  })
})

describe('errorHandler', () => {
  test('an abort that is the request signal’s own reason is answered quietly', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const controller = new AbortController()
    const app = new Hono().onError(errorHandler).get('/', () => {
      controller.abort(new DOMException('deadline', 'TimeoutError'))
      throw controller.signal.reason
    })
    const res = await app.request(new Request('http://x/', { signal: controller.signal }))
    expect(res.status).toBe(504)
    expect(error).not.toHaveBeenCalled()
    error.mockRestore()
  })

  test('other errors are logged and answered with a bare 500', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    const app = new Hono().onError(errorHandler).get('/', () => {
      throw new Error('secret detail')
    })
    const res = await app.request('/')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'Internal Server Error' })
    expect(error).toHaveBeenCalledOnce()
    error.mockRestore()
  })

  test('an HTTPException keeps its status and message', async () => {
    const app = new Hono().onError(errorHandler).get('/', () => {
      throw new HTTPException(409, { message: 'already there' })
    })
    const res = await app.request('/')
    expect(res.status).toBe(409)
    expect(await res.json()).toEqual({ error: 'already there' })
  })
})
