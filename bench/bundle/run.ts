/**
 * Workers bundle sizes, minified and gzipped, built the way wrangler builds them (esbuild,
 * ESM, workerd conditions): the benchmark routes as plain Hono and through edgeio, and the
 * example service against its routes as a plain Hono worker (./example-plain-hono.ts), with
 * edgeio's own share of each (from esbuild's metafile); and the benchmark routes through the
 * package installed from its tarball (../coldstart/installed.ts), as a user's worker gets it.
 *
 *   node bench/bundle/run.ts
 */
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import { installPackage } from '../coldstart/installed.ts'

export interface BundleSize {
  name: string
  entry: string
  minifiedBytes: number
  gzipBytes: number
  /** Bytes of the minified output that come from edgeio's src/ and adapters/. */
  edgeioBytes: number
}

/**
 * Replaces the example's OpenTelemetry SDK module (examples/otel-sdk.ts: the SDK and the
 * OTLP exporter a user brings, loaded only when an OTEL binding is set) with an empty one:
 * the example without it is edgeio's share, comparable with the rows from before the SDK.
 */
const withoutOtelSdk: Plugin = {
  name: 'without-otel-sdk',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/otel-sdk\.ts$/ }, () => ({
      path: 'otel-sdk',
      namespace: 'stub',
    }))
    pluginBuild.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export function registerOtelSdk() { return null }',
      loader: 'js',
    }))
  },
}

async function measure(name: string, entry: string, plugins: Plugin[] = []): Promise<BundleSize> {
  const result = await build({
    entryPoints: [entry],
    plugins,
    bundle: true,
    minify: true,
    format: 'esm',
    // esbuild's default platform, as wrangler bundles: packages' `browser` file maps apply
    // (the example's OpenTelemetry exporter then sends with fetch, not node:http).
    platform: 'browser',
    target: 'es2024',
    conditions: ['workerd', 'worker', 'browser'],
    // workerd's built-in modules, and Node's under nodejs_compat, as wrangler leaves them.
    external: ['cloudflare:*', 'node:*', ...builtinModules],
    mainFields: ['browser', 'module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]?.contents ?? new Uint8Array()
  const output = Object.values(result.metafile.outputs)[0]
  const edgeioBytes = Object.entries(output?.inputs ?? {})
    // From source: src/ and adapters/; installed: the package's dist/ (its chunks).
    .filter(([path]) => /^(src|adapters)\/|node_modules\/edgeio\/dist\//.test(path))
    .reduce((sum, [, input]) => sum + input.bytesInOutput, 0)
  return {
    name,
    entry,
    minifiedBytes: code.byteLength,
    gzipBytes: gzipSync(code).byteLength,
    edgeioBytes,
  }
}

export function runBundleBench(): Promise<BundleSize[]> {
  return Promise.all([
    measure('benchmark routes, plain Hono', 'bench/bundle/plain-hono.ts'),
    measure('benchmark routes, edgeio (Service + toWorker)', 'bench/bundle/edgeio.ts'),
    measure(
      'example routes, plain Hono (floor: edgeio-only features stubbed)',
      'bench/bundle/example-plain-hono.ts'
    ),
    measure('example service (examples/workers)', 'examples/workers/index.ts'),
    measure(
      'example service without its OpenTelemetry SDK (examples/otel-sdk.ts stubbed)',
      'examples/workers/index.ts',
      [withoutOtelSdk]
    ),
    measure(
      'benchmark routes, edgeio installed from the packed tarball',
      join(installPackage().dir, 'worker.js')
    ),
  ])
}

if (import.meta.main) console.table(await runBundleBench())
