/**
 * What telemetry() and requestLog() add to a minified Workers bundle, and that an app which
 * does not use them pays nothing: three one-route apps bundled with esbuild as wrangler
 * would (ESM, workerd conditions), sizes raw and gzip -9.
 *
 *   node bench/telemetry/size.ts
 */
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const apps: Record<string, string> = {
  'clientAddress only (no telemetry)': `
    import { Hono } from 'hono'
    import { clientAddress } from './src/index.ts'
    export default new Hono().get('/', (c) => c.text(clientAddress(c) ?? '-'))`,
  'telemetry()': `
    import { Hono } from 'hono'
    import { clientAddress, telemetry } from './src/index.ts'
    export default new Hono().use(telemetry()).get('/', (c) => c.text(clientAddress(c) ?? '-'))`,
  'telemetry() + requestLog()': `
    import { Hono } from 'hono'
    import { clientAddress, requestLog, telemetry } from './src/index.ts'
    export default new Hono()
      .use(telemetry(), requestLog())
      .get('/', (c) => c.text(clientAddress(c) ?? '-'))`,
}

console.log('| app | raw bytes | gzip -9 bytes |')
console.log('| --- | ---: | ---: |')
for (const [name, contents] of Object.entries(apps)) {
  const result = await build({
    stdin: { contents, resolveDir: new URL('../..', import.meta.url).pathname, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*', 'node:*'],
    write: false,
    logLevel: 'error',
  })
  const code = (result.outputFiles[0] as { contents: Uint8Array }).contents
  console.log(`| ${name} | ${code.byteLength} | ${gzipSync(code, { level: 9 }).byteLength} |`)
}
