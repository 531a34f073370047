/**
 * Builds the package into dist/: ESM JavaScript, `.d.ts`, declaration maps and source maps,
 * one file per source module (bundlers tree-shake per module, and Node loads only what an
 * entry imports). Plain tsc: the native compiler emits the whole tree in about a second.
 *
 * Two passes: the Deno adapter is emitted without a check (tsc cannot load Deno's types
 * beside the DOM and Node ones; `deno check` checks it in `npm run typecheck`), then the
 * rest with a full check.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'dist')
const tsc = join(root, 'node_modules/.bin/tsc')

rmSync(dist, { recursive: true, force: true })
for (const project of ['tsconfig.build-deno.json', 'tsconfig.build.json']) {
  execFileSync(tsc, ['-p', join(root, project)], { stdio: 'inherit' })
}

// tsc rewrites `./x.ts` to `./x.js` in JavaScript only; declarations keep `.ts`, which a
// consumer's TypeScript resolves only where it allows .ts imports. Same length, so the
// declaration maps stay exact.
const RELATIVE_TS = /(from\s+|import\(\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g
for (const entry of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
  if (!entry.endsWith('.d.ts')) continue
  const file = join(dist, entry)
  const text = readFileSync(file, 'utf8')
  const rewritten = text.replace(RELATIVE_TS, '$1$2$3.js$2')
  if (rewritten !== text) writeFileSync(file, rewritten)
}
