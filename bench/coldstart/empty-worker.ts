// The smallest module worker: the floor of workerd's process + isolate start on this machine.
export default {
  fetch: () => new Response('ok'),
}
