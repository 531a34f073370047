/**
 * A task module: a plain ES module whose exported functions are the tasks. Each task takes
 * one structured-clonable argument and returns (or resolves to) a structured-clonable value.
 */
export type TaskModule = object

/** The names of the functions a task module exports. */
export type TaskName<M extends TaskModule> = {
  [K in keyof M]: M[K] extends (arg: never) => unknown ? K : never
}[keyof M] &
  string

/** The argument of task `K`. */
export type TaskArg<M extends TaskModule, K extends TaskName<M>> = M[K] extends (
  arg: infer A
) => unknown
  ? A
  : never

/** What task `K` resolves to. */
export type TaskResult<M extends TaskModule, K extends TaskName<M>> = M[K] extends (
  arg: never
) => infer R
  ? Awaited<R>
  : never

/**
 * A task module in both forms an executor may need: its namespace object, for the inline
 * executor (Workers bundle everything statically and have no threads), and its URL, which
 * a thread imports. The URL is resolved only when a thread needs it: in workerd
 * `import.meta.url` is undefined, and resolving it there would throw.
 */
export interface TaskSource<M extends TaskModule = TaskModule> {
  /** The module namespace object (`import * as tasks from './tasks.ts'`). */
  readonly module: M
  /** The module's absolute URL, as a thread imports it. Throws when it cannot be resolved. */
  readonly url: string
}

/**
 * Names a task module for executors: pass its namespace and its specifier relative to
 * `base` (normally `import.meta.url` of the importing file), so that the same declaration
 * works with threads (which import the URL) and inline (which uses the namespace).
 *
 * @example
 * ```ts
 * import * as cpu from './cpu-tasks.ts'
 * export const cpuTasks = defineTasks(cpu, './cpu-tasks.ts', import.meta.url)
 * ```
 */
export function defineTasks<M extends TaskModule>(
  module: M,
  specifier: string | URL,
  base?: string
): TaskSource<M> {
  let url: string | undefined
  return {
    module,
    get url() {
      url ??= resolveUrl(specifier, base)
      return url
    },
  }
}

function resolveUrl(specifier: string | URL, base: string | undefined): string {
  try {
    return new URL(specifier, base).href
  } catch (cause) {
    throw new TypeError(
      `defineTasks: cannot resolve ${String(specifier)} against ${String(base)} ` +
        '(this runtime has no module URLs; only the inline executor works here)',
      { cause }
    )
  }
}
