/**
 * Coordination beyond one isolate or process: the same shapes as `src/sync`, backed by a
 * Durable Object (Workers) or by this process (Node, Deno), and a job queue backed by
 * Cloudflare Queues or by this process.
 */
export {}
