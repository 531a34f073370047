// Runs the vitest-style unit tests of test/sync and test/tasks (and the job queue contract
// on Redis, test/distributed/redis/jobs-contract.deno.test.ts) under `deno test`: the import
// map in deno.json points `vitest` here. It covers only what those tests use (describe / it /
// beforeEach / afterEach, file-level beforeAll / afterAll and a handful of matchers), on
// `node:assert`.
import assert from 'node:assert'

interface DenoTestApi {
  test: {
    (def: {
      name: string
      fn: () => Promise<void>
      sanitizeOps?: boolean
      sanitizeResources?: boolean
    }): void
    beforeAll(fn: () => void | Promise<void>): void
    afterAll(fn: () => void | Promise<void>): void
  }
}
const Deno = (globalThis as unknown as { Deno: DenoTestApi }).Deno

type Hook = () => unknown
interface Scope {
  name: string
  before: Hook[]
  after: Hook[]
  parent: Scope | undefined
}
let scope: Scope = { name: '', before: [], after: [], parent: undefined }

export function describe(name: string, fn: () => void): void {
  const parent = scope
  scope = { name: parent.name ? `${parent.name} > ${name}` : name, before: [], after: [], parent }
  try {
    fn()
  } finally {
    scope = parent
  }
}

/** vitest's `describe.each` for tuples: one block per case, `%s` filled in order. */
describe.each =
  <T extends readonly unknown[]>(cases: readonly T[]) =>
  (name: string, fn: (...args: T) => void): void => {
    for (const args of cases) {
      let i = 0
      describe(
        name.replace(/%s/g, () => String(args[i++])),
        () => fn(...args)
      )
    }
  }

export function beforeEach(fn: Hook): void {
  scope.before.push(fn)
}

export function afterEach(fn: Hook): void {
  scope.after.push(fn)
}

/**
 * Once before the file's first test: Deno's own module-level hook. Only at the top of a file
 * (vitest scopes a `beforeAll` inside `describe` to that block; this would not).
 */
export function beforeAll(fn: Hook): void {
  if (scope.parent !== undefined)
    throw new Error('the Deno shim supports beforeAll at top level only')
  Deno.test.beforeAll(async () => void (await fn()))
}

/** Once after the file's last test (top level only, as {@link beforeAll}). */
export function afterAll(fn: Hook): void {
  if (scope.parent !== undefined)
    throw new Error('the Deno shim supports afterAll at top level only')
  Deno.test.afterAll(async () => void (await fn()))
}

export function it(name: string, fn: () => unknown, _timeout?: number): void {
  const chain: Scope[] = []
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) chain.unshift(s)
  Deno.test({
    name: scope.name ? `${scope.name} > ${name}` : name,
    // Timers of keep-alive waits and aborted sleeps are cleared by the code under test,
    // but Deno's op sanitizer also trips on the runtime's own pending promises.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      for (const s of chain) for (const h of s.before) await h()
      try {
        await fn()
      } finally {
        for (const s of chain.reverse()) for (const h of s.after) await h()
      }
    },
  })
}
export const test = it

type Ctor = abstract new (...args: never[]) => unknown

function matchers(actual: unknown) {
  return {
    toBe(expected: unknown): void {
      assert.ok(Object.is(actual, expected), `expected ${String(actual)} to be ${String(expected)}`)
    },
    toEqual(expected: unknown): void {
      assert.deepStrictEqual(actual, expected)
    },
    toBeInstanceOf(ctor: Ctor): void {
      assert.ok(actual instanceof ctor, `expected an instance of ${ctor.name}`)
    },
    toBeLessThan(n: number): void {
      assert.ok((actual as number) < n, `expected ${String(actual)} < ${n}`)
    },
    toBeGreaterThan(n: number): void {
      assert.ok((actual as number) > n, `expected ${String(actual)} > ${n}`)
    },
    toBeLessThanOrEqual(n: number): void {
      assert.ok((actual as number) <= n, `expected ${String(actual)} <= ${n}`)
    },
    toMatch(expected: RegExp | string): void {
      const text = String(actual)
      if (typeof expected === 'string') assert.ok(text.includes(expected), text)
      else assert.match(text, expected)
    },
    toBeGreaterThanOrEqual(n: number): void {
      assert.ok((actual as number) >= n, `expected ${String(actual)} >= ${n}`)
    },
    toHaveLength(n: number): void {
      const length = (actual as { length?: unknown } | null)?.length
      assert.strictEqual(length, n, `expected length ${String(length)} to be ${n}`)
    },
    toBeUndefined(): void {
      assert.strictEqual(actual, undefined)
    },
    toThrow(expected?: RegExp | string | Ctor): void {
      let thrown: unknown
      let threw = false
      if (typeof actual === 'function') {
        try {
          ;(actual as () => unknown)()
        } catch (error) {
          threw = true
          thrown = error
        }
      } else {
        threw = true
        thrown = actual
      }
      assert.ok(threw, 'expected a throw')
      checkError(thrown, expected)
    },
  }
}

function checkError(thrown: unknown, expected?: RegExp | string | Ctor): void {
  if (expected === undefined) return
  if (typeof expected === 'function') {
    assert.ok(thrown instanceof expected, `expected ${String(thrown)} to be a ${expected.name}`)
    return
  }
  const message = (thrown as { message?: string } | null)?.message ?? String(thrown)
  if (typeof expected === 'string') assert.ok(message.includes(expected), message)
  else assert.match(message, expected)
}

type Matchers = ReturnType<typeof matchers>
type AsyncMatchers = { [K in keyof Matchers]: (...args: Parameters<Matchers[K]>) => Promise<void> }

/** `expect(x).not.<matcher>`: passes where the matcher throws, and the other way round. */
function negated(actual: unknown): Matchers {
  const m = matchers(actual) as unknown as Record<string, (...a: unknown[]) => void>
  return new Proxy({} as Matchers, {
    get:
      (_, key: string) =>
      (...args: unknown[]) => {
        let passed = true
        try {
          m[key]?.(...args)
        } catch {
          passed = false
        }
        assert.ok(!passed, `expected ${String(actual)} not to pass ${key}`)
      },
  })
}

export function expect(
  actual: unknown
): Matchers & { not: Matchers; rejects: AsyncMatchers; resolves: AsyncMatchers } {
  const settle = (want: 'fulfilled' | 'rejected'): AsyncMatchers =>
    new Proxy({} as AsyncMatchers, {
      get:
        (_, key: string) =>
        async (...args: unknown[]) => {
          let value: unknown
          let state: 'fulfilled' | 'rejected'
          try {
            value = await actual
            state = 'fulfilled'
          } catch (error) {
            value = error
            state = 'rejected'
          }
          assert.strictEqual(state, want, `expected the promise to be ${want}`)
          const m = matchers(value) as unknown as Record<string, (...a: unknown[]) => void>
          m[key]?.(...args)
        },
    })
  return Object.assign(matchers(actual), {
    not: negated(actual),
    rejects: settle('rejected'),
    resolves: settle('fulfilled'),
  })
}
