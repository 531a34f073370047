import { afterEach, beforeEach, describe, expect, type MockInstance, test, vi } from 'vitest'
import { handleUnhandledRejections, type RejectionRuntime } from '../../src/internal.ts'

type Listener = (reason: unknown) => void

/**
 * A runtime as the adapters build one (process.on/off on Node, addEventListener on Deno):
 * it keeps the installed listeners, and `reject` reports a rejection to them.
 */
function fakeRuntime() {
  const listeners = new Set<Listener>()
  const runtime = {
    listeners,
    install: vi.fn((listener: Listener) => void listeners.add(listener)),
    uninstall: vi.fn((listener: Listener) => void listeners.delete(listener)),
    exit: vi.fn((_code: number) => {}),
    reject(reason: unknown) {
      for (const listener of listeners) listener(reason)
    },
  }
  return runtime satisfies RejectionRuntime
}

let errors: MockInstance<typeof console.error>
// Every registration a test makes, removed afterwards even when the test fails half-way:
// the handler's state is per module, shared by the tests of this file.
const stops: (() => void)[] = []
function register(...args: Parameters<typeof handleUnhandledRejections>): () => void {
  const stop = handleUnhandledRejections(...args)
  stops.push(stop)
  return stop
}

beforeEach(() => {
  errors = vi.spyOn(console, 'error').mockImplementation(() => {})
})
afterEach(() => {
  for (const stop of stops.splice(0)) stop()
  vi.restoreAllMocks()
})

describe('handleUnhandledRejections', () => {
  test("'log' logs the rejection with the edgeio prefix and does not exit", () => {
    const runtime = fakeRuntime()
    register('log', runtime)
    expect(runtime.install).toHaveBeenCalledTimes(1)
    expect(runtime.listeners.size).toBe(1)

    const reason = new Error('stray')
    runtime.reject(reason)
    expect(errors).toHaveBeenCalledTimes(1)
    expect(errors).toHaveBeenCalledWith('edgeio: unhandled promise rejection:', reason)
    expect(runtime.exit).not.toHaveBeenCalled()

    // It carries on: a second rejection is logged too, still without exiting.
    runtime.reject('not an Error')
    expect(errors).toHaveBeenLastCalledWith('edgeio: unhandled promise rejection:', 'not an Error')
    expect(runtime.exit).not.toHaveBeenCalled()
  })

  test("'exit' logs the rejection, then exits with code 1 through the runtime's hook", () => {
    const runtime = fakeRuntime()
    const order: string[] = []
    errors.mockImplementation(() => void order.push('logged'))
    runtime.exit.mockImplementation((code) => void order.push(`exit ${code}`))
    register('exit', runtime)

    const reason = new Error('fatal')
    runtime.reject(reason)
    expect(errors).toHaveBeenCalledWith('edgeio: unhandled promise rejection; exiting:', reason)
    expect(runtime.exit).toHaveBeenCalledTimes(1)
    expect(runtime.exit).toHaveBeenCalledWith(1)
    expect(order).toEqual(['logged', 'exit 1'])
  })

  test('the returned function uninstalls the very listener it installed', () => {
    const runtime = fakeRuntime()
    const stop = register('exit', runtime)
    const installed = runtime.install.mock.calls[0]?.[0]
    expect(typeof installed).toBe('function')

    stop()
    expect(runtime.uninstall).toHaveBeenCalledTimes(1)
    expect(runtime.uninstall).toHaveBeenCalledWith(installed)
    expect(runtime.listeners.size).toBe(0)
    runtime.reject(new Error('after close'))
    expect(errors).not.toHaveBeenCalled()
    expect(runtime.exit).not.toHaveBeenCalled()
  })

  test('one listener however many servers run: a rejection is logged once', () => {
    const runtime = fakeRuntime()
    const stopA = register('log', runtime)
    const stopB = register('log', runtime)
    expect(runtime.install).toHaveBeenCalledTimes(1)
    expect(runtime.listeners.size).toBe(1)

    runtime.reject(new Error('once'))
    expect(errors).toHaveBeenCalledTimes(1)

    // The listener stays while any server runs, and goes with the last one.
    stopA()
    expect(runtime.uninstall).not.toHaveBeenCalled()
    runtime.reject(new Error('still handled'))
    expect(errors).toHaveBeenCalledTimes(2)
    stopB()
    expect(runtime.uninstall).toHaveBeenCalledTimes(1)
    expect(runtime.listeners.size).toBe(0)
  })

  test('stopping twice removes one registration, not another server’s', () => {
    const runtime = fakeRuntime()
    const stopA = register('log', runtime)
    const stopB = register('log', runtime)
    stopA()
    stopA()
    expect(runtime.uninstall).not.toHaveBeenCalled()
    expect(runtime.listeners.size).toBe(1)
    stopB()
    stopB()
    expect(runtime.uninstall).toHaveBeenCalledTimes(1)
  })

  test("one 'exit' server among 'log' ones makes a rejection fatal, until it stops", () => {
    const runtime = fakeRuntime()
    register('log', runtime)
    const stopExiting = register('exit', runtime)

    runtime.reject(new Error('first'))
    expect(errors).toHaveBeenLastCalledWith(
      'edgeio: unhandled promise rejection; exiting:',
      expect.any(Error)
    )
    expect(runtime.exit).toHaveBeenCalledTimes(1)

    stopExiting()
    expect(runtime.uninstall).not.toHaveBeenCalled()
    runtime.reject(new Error('second'))
    expect(errors).toHaveBeenLastCalledWith(
      'edgeio: unhandled promise rejection:',
      expect.any(Error)
    )
    expect(runtime.exit).toHaveBeenCalledTimes(1)
  })

  test('after the last server stopped, the next one installs the listener again', () => {
    const first = fakeRuntime()
    register('exit', first)()
    expect(first.listeners.size).toBe(0)

    const second = fakeRuntime()
    register('log', second)
    expect(second.install).toHaveBeenCalledTimes(1)
    expect(first.install).toHaveBeenCalledTimes(1)
    second.reject(new Error('later'))
    // The mode is the new server's: the stopped 'exit' one left nothing behind.
    expect(errors).toHaveBeenCalledWith('edgeio: unhandled promise rejection:', expect.any(Error))
    expect(first.exit).not.toHaveBeenCalled()
    expect(second.exit).not.toHaveBeenCalled()
  })

  test('install and uninstall pair up like process.on / process.off', async () => {
    // The Node adapter's runtime, over an EventEmitter standing in for `process`.
    const { EventEmitter } = await import('node:events')
    const emitter = new EventEmitter()
    const exit = vi.fn()
    const stop = register('log', {
      install: (listener) => emitter.on('unhandledRejection', listener),
      uninstall: (listener) => emitter.off('unhandledRejection', listener),
      exit,
    })
    expect(emitter.listenerCount('unhandledRejection')).toBe(1)
    emitter.emit('unhandledRejection', new Error('stray'))
    expect(errors).toHaveBeenCalledTimes(1)
    stop()
    expect(emitter.listenerCount('unhandledRejection')).toBe(0)
    expect(exit).not.toHaveBeenCalled()
  })
})
