import type { Reporter, TestModule } from 'vitest/node'

/**
 * Prints one line per runtime after a run: how many conformance cases passed, failed and
 * were skipped on node, workerd and deno, so a log shows at a glance that the same cases
 * ran everywhere.
 */
export default class ConformanceSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, Record<'passed' | 'failed' | 'skipped', number>>()
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const runtime = /conformance \[([\w+]+)\]/.exec(test.fullName)?.[1]
        if (!runtime) continue
        const row = counts.get(runtime) ?? { passed: 0, failed: 0, skipped: 0 }
        const state = test.result().state
        if (state === 'passed' || state === 'failed' || state === 'skipped') row[state]++
        counts.set(runtime, row)
      }
    }
    if (counts.size === 0) return
    console.log('\nConformance cases per runtime:')
    for (const [runtime, row] of [...counts].sort()) {
      console.log(
        `  ${runtime.padEnd(11)} ${row.passed} passed, ${row.failed} failed, ${row.skipped} skipped`
      )
    }
  }
}
