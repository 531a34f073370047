// The part of workerd's built-in `cloudflare:workers` module that
// adapters/workers/coordinator.ts uses, declared here so the Node-side type check needs no
// Workers type package (test/workerd type-checks against @cloudflare/workers-types itself).
declare module 'cloudflare:workers' {
  interface SyncKvStorage {
    get<T = unknown>(key: string): T | undefined
    list<T = unknown>(options?: { prefix?: string }): Iterable<[string, T]>
    put<T>(key: string, value: T): void
    delete(key: string): boolean
  }
  interface DurableObjectState {
    readonly storage: {
      readonly kv: SyncKvStorage
      setAlarm(scheduledTime: number | Date): Promise<void>
    }
  }
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState
    protected env: Env
    constructor(ctx: DurableObjectState, env: Env)
  }
}
