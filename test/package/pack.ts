/**
 * vitest globalSetup: packs the package once (npm pack runs `prepack`, which builds dist/)
 * and hands the tarball's path to the consumer tests, which install it as users do.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [packed] = JSON.parse(output.slice(output.indexOf('['))) as [{ filename: string }]
  project.provide('edgeioTarball', join(destination, packed.filename))
  return () => rmSync(destination, { recursive: true, force: true })
}
