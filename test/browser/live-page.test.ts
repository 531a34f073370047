import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeServer, serve } from '../../adapters/node/index.ts'
import { service } from '../../examples/app.ts'

// A real browser (Debian's chromium, headless, driven by playwright-core) on the example's
// /live page: server-sent events and a WebSocket, as a user's browser would use them.
const CHROMIUM = '/usr/bin/chromium'

/** Installs Debian's chromium when it is missing and apt can; returns why not otherwise. */
function ensureChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
  } catch (error) {
    return `chromium could not be installed with apt-get (${(error as Error).message.split('\n')[0]})`
  }
  return existsSync(CHROMIUM) ? undefined : 'apt-get ran but /usr/bin/chromium is missing'
}

const missing = ensureChromium()
if (missing) console.warn(`browser check skipped: ${missing}`)

let server: NodeServer
beforeAll(async () => {
  server = await serve(service, { port: 0, signals: false, env: { LOG_LEVEL: 'silent' } })
})
afterAll(() => server?.close())

test.skipIf(missing !== undefined)(
  `headless chromium: the live page gets counter events over SSE and an echo over WebSocket${missing ? ` (skipped: ${missing})` : ''}`,
  async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      // No background traffic: this machine has no network but the package registries.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const page = await browser.newPage()
      await page.goto(`${server.url}/live`)
      await page.waitForFunction(() =>
        /^\d+$/.test(document.getElementById('count')?.textContent ?? '')
      )
      const before = Number(await page.textContent('#count'))
      await page.click('#increment')
      await page.waitForFunction(
        (n) => Number(document.getElementById('count')?.textContent) > n,
        before
      )
      await page.waitForFunction(
        () => document.getElementById('echo')?.textContent === 'echo: hello from the browser'
      )
      expect(Number(await page.textContent('#count'))).toBe(before + 1)
    } finally {
      await browser.close()
    }
  },
  60_000
)
