// A coordinator binding whose `renew` a test can take over: to make renewals hang (a paused
// Redis) or fail, while acquire, release and inspect go to the real in-process coordinator.
import type { CoordinatorNamespace, CoordinatorStub } from '../../src/distributed/protocol.ts'
import type { LocalCoordinator } from '../../src/index.ts'

export type Renew = CoordinatorStub['renew']

/** What the test controls: the `renew` used while `current` is set, and the calls made. */
export interface RenewControl {
  current: Renew | undefined
  calls: number
}

/** `inner` as a binding, its `renew` replaced while `control.current` is set. */
export function withRenewControl(inner: LocalCoordinator): {
  binding: CoordinatorNamespace
  control: RenewControl
} {
  const control: RenewControl = { current: undefined, calls: 0 }
  const binding: CoordinatorNamespace = {
    idFromName: (name) => inner.idFromName(name),
    get(id) {
      const stub = inner.get(id)
      return {
        ...stub,
        acquire: (request) => stub.acquire(request),
        release: (ref) => stub.release(ref),
        inspect: (name) => stub.inspect(name),
        renew: (request) => {
          control.calls++
          return control.current ? control.current(request) : stub.renew(request)
        },
      } as CoordinatorStub
    },
  }
  return { binding, control }
}
