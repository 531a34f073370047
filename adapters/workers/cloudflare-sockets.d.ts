// The part of workerd's built-in `cloudflare:sockets` module that adapters/workers/tcp.ts
// uses, declared here so the Node-side type check needs no Workers type package.
declare module 'cloudflare:sockets' {
  interface SocketAddress {
    hostname: string
    port: number
  }
  interface SocketOptions {
    secureTransport?: 'off' | 'on' | 'starttls'
    allowHalfOpen?: boolean
  }
  interface Socket {
    readonly readable: ReadableStream<Uint8Array>
    readonly writable: WritableStream<Uint8Array>
    readonly opened: Promise<unknown>
    readonly closed: Promise<void>
    close(): Promise<void>
  }
  export function connect(address: SocketAddress | string, options?: SocketOptions): Socket
}
