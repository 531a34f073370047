/** `send()` on an in-process job queue that was closed (the service is shutting down). */
export class JobQueueClosed extends Error {
  override name = 'JobQueueClosed'
}
