/**
 * What each adapter entry loads before its first request: the static import closure of
 * dist/<entry>.js. An adapter that imports a value from the public index (`src/index.ts`)
 * drags every module of it into its startup chunks: that once added ~80 KB and
 * `hono/cookie`, `hono/streaming` to Deno's cold start (npm run bench, 2026-12-04).
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const dist = fileURLToPath(new URL('../../dist/', import.meta.url))
const STATIC_IMPORT = /^import\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm

/** The files and the bare specifiers an entry loads at import, following relative imports. */
function startupClosure(entry: string): { bytes: number; packages: Set<string> } {
  const seen = new Set<string>()
  const packages = new Set<string>()
  let bytes = 0
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    bytes += source.length
    for (const match of source.matchAll(STATIC_IMPORT)) {
      const specifier = (match[1] ?? match[2]) as string
      if (specifier.startsWith('.')) visit(join(dirname(file), specifier))
      else packages.add(specifier)
    }
  }
  visit(join(dist, entry))
  return { bytes, packages }
}

test.each(['node.js', 'deno.js', 'bun.js', 'workers.js'])(
  '%s loads no more than its adapter needs at startup',
  (entry) => {
    const { bytes, packages } = startupClosure(entry)
    console.log(
      `${entry}: ${(bytes / 1024).toFixed(1)} KiB at startup, ${[...packages].join(', ')}`
    )
    // Middleware and helpers of the public index are loaded only by an app that uses them.
    for (const unwanted of [
      'hono/cookie',
      'hono/streaming',
      'hono/utils/buffer',
      'ws',
      'piscina',
    ]) {
      expect(packages).not.toContain(unwanted)
    }
    expect(bytes).toBeLessThan(80 * 1024)
  }
)
