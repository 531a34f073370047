import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

test('wrangler deploy --dry-run bundles the Workers example offline, with no node:* import', async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'edgeio-bundle-'))
  try {
    await promisify(execFile)(
      `${root}node_modules/.bin/wrangler`,
      ['deploy', '--dry-run', '--outdir', outdir],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' } }
    )
    const bundle = await readFile(join(outdir, 'index.js'), 'utf8')
    expect(bundle).toContain('Hello, Anonymous')
    expect(bundle).not.toMatch(/from\s*["']node:/)
  } finally {
    await rm(outdir, { recursive: true, force: true })
  }
})
