/**
 * The signals of the `deadline()` calls still waiting on their handler: each aborts at its
 * `deadlineAt`, with the 504 decided first. A client call bound to the request
 * (`client.for(c)`) whose own end timer fires at that same instant leaves the abort to
 * `deadline()` (see src/client/send.ts): two timers due together fire in either order, and
 * when the call's fired first the handler answered the failed call before the 504.
 * Once `deadline()` has returned (a streamed body goes on), nothing aborts at the deadline
 * but the call's own timer.
 */
export const armedDeadlines: WeakSet<AbortSignal> = new WeakSet()
