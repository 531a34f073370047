/**
 * Node: the service is imported into the test process and served through `edgeio/node` on
 * an ephemeral loopback port, so a test can also reach its objects directly.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Servable } from '../src/lifecycle/service.ts'
import type { RunningRuntime } from './running.ts'
import type { TestServiceOptions } from './types.ts'

export async function startNode(
  options: TestServiceOptions,
  env: Record<string, string>
): Promise<RunningRuntime> {
  const cwd = options.cwd ?? process.cwd()
  if (!options.app) {
    throw new Error('edgeio/testing: node needs `app`, the module that exports the service')
  }
  const module = (await import(pathToFileURL(resolve(cwd, options.app)).href)) as Record<
    string,
    unknown
  >
  const servable = pickService(module, options.app, options.exportName)
  // Loaded only here: a project testing only workerd and Deno needs no @hono/node-server.
  const { serve } = await import('../adapters/node/index.ts')
  const server = await serve(servable, { port: 0, hostname: '127.0.0.1', signals: false, env })
  return { url: server.url, logs: () => '', close: () => server.close() }
}

/** The service `module` exports as `exportName`, else as `service`, else by default. */
export function pickService(
  module: Record<string, unknown>,
  from: string,
  exportName?: string
): Servable {
  const found = exportName ? module[exportName] : (module.service ?? module.default)
  if (typeof (found as { fetch?: unknown } | undefined)?.fetch !== 'function') {
    const wanted = exportName ? `an export named ${exportName}` : 'an export named service'
    throw new Error(
      `edgeio/testing: ${from} has no service: expected ${wanted} (or a default export) holding a Service or a Hono app`
    )
  }
  return found as Servable
}
