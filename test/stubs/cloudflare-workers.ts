/**
 * Stands in for workerd's built-in `cloudflare:workers` when adapters/workers/index.ts is loaded
 * by Node-side unit tests (vitest.config.ts aliases the module here). Only the base class
 * that `EdgeioCoordinator` extends is needed; the Durable Object itself is tested in workerd.
 */
export class DurableObject<Env = unknown> {
  protected ctx: unknown
  protected env: Env
  constructor(ctx: unknown, env: Env) {
    this.ctx = ctx
    this.env = env
  }
}
