/**
 * `describeRuntimes`: the same vitest block once per runtime, each with its own server
 * started once for the block and shut down after it.
 */
import { afterAll, afterEach, beforeAll, describe, test } from 'vitest'
import { startRuntime } from './start.ts'
import type { RuntimeServer, TestRuntime, TestServiceOptions } from './types.ts'

export interface DescribeRuntimesOptions extends TestServiceOptions {
  /**
   * Runtimes to skip, each with the reason, which the report shows. A skip without a reason
   * is refused: a runtime that silently drops out is how "runs everywhere" stops being true.
   */
  skip?: Partial<Record<TestRuntime, string>>
}

/**
 * Registers `body` once per runtime, in a `describe` named after the runtime, with the
 * service started before the block's first test and closed (gracefully) after its last. A
 * failing test prints what the runtime logged while it ran.
 *
 * @example
 * ```ts
 * import { describeRuntimes } from 'edgeio/testing'
 * import { expect, test } from 'vitest'
 *
 * describeRuntimes(['node', 'workerd', 'deno'], { app: './src/app.ts' }, (server) => {
 *   test('says hello', async () => {
 *     const res = await server.fetch('/')
 *     expect(await res.text()).toBe('Hello!')
 *   })
 * })
 * ```
 */
export function describeRuntimes(
  runtimes: readonly TestRuntime[],
  options: DescribeRuntimesOptions,
  body: (server: RuntimeServer) => void
): void {
  for (const runtime of runtimes) {
    const reason = options.skip?.[runtime]
    if (reason !== undefined) {
      if (reason.trim() === '') {
        throw new Error(`edgeio/testing: the skip of ${runtime} must say why`)
      }
      describe(`[${runtime}]`, () => {
        test.skip(`skipped on ${runtime}: ${reason}`, () => {})
      })
      continue
    }
    describe(`[${runtime}]`, () => {
      let server: RuntimeServer | undefined
      let logged = 0
      beforeAll(
        async () => {
          server = await startRuntime(runtime, options)
        },
        (options.startTimeoutMs ?? 60_000) + 5_000
      )
      afterAll(
        async () => {
          await server?.close()
        },
        (options.stopTimeoutMs ?? 15_000) + 5_000
      )
      afterEach((context) => {
        const logs = server?.logs() ?? ''
        if (context.task.result?.state === 'fail' && logs.length > logged) {
          console.error(
            `--- ${runtime} logged during "${context.task.name}":\n${logs.slice(logged)}`
          )
        }
        logged = logs.length
      })
      body(lazyServer(runtime, () => server))
    })
  }
}

/** The server as the block sees it while registering tests: usable once `beforeAll` ran. */
function lazyServer(runtime: TestRuntime, current: () => RuntimeServer | undefined): RuntimeServer {
  const started = () => {
    const server = current()
    if (!server) {
      throw new Error(
        `edgeio/testing: the ${runtime} server is not started yet: use it inside a test or hook`
      )
    }
    return server
  }
  return {
    runtime,
    get url() {
      return started().url
    },
    fetch: (path, init) => started().fetch(path, init),
    websocket: (path, protocols) => started().websocket(path, protocols),
    events: (path, init) => started().events(path, init),
    logs: () => current()?.logs() ?? '',
    close: () => started().close(),
  }
}
