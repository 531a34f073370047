/**
 * vitest globalSetup: packs the package once (npm pack runs `prepack`, which builds dist/)
 * and hands the tarball's path to the consumer tests, which install it as users do.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    edgeioTarball: string
  }
}

export default function setup(project: TestProject): () => void {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const destination = mkdtempSync(join(tmpdir(), 'edgeio-pack-'))
  const output = whileHolding(join(root, 'node_modules/.cache/edgeio-pack.lock'), () =>
    execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
  )
  const [packed] = JSON.parse(output.slice(output.indexOf('['))) as [{ filename: string }]
  project.provide('edgeioTarball', join(destination, packed.filename))
  return () => rmSync(destination, { recursive: true, force: true })
}

/**
 * Runs `fn` holding a lock directory: `npm pack` rebuilds dist/ in place, so two test runs
 * packing at once (two projects, two checkouts' tools) would pack each other's half-built
 * tree. A lock older than a minute is a crashed run's and is taken over.
 */
function whileHolding<T>(lock: string, fn: () => T): T {
  const deadline = Date.now() + 120_000
  mkdirSync(dirname(lock), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lock, { recursive: false })
      break
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error
      if (Date.now() > deadline) throw new Error(`could not take ${lock} within 2 minutes`)
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > 60_000) rmSync(lock, { recursive: true, force: true })
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}
