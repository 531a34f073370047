/**
 * openConnection on Bun: `Bun.connect` sockets exposed as Web Streams, with backpressure
 * both ways (the socket pauses while the readable's queue is full; a write waits for
 * `drain` when the kernel took only part of a chunk).
 *
 * node:net through Bun's Node compatibility (adapters/node/tcp.ts) works as well, with the
 * same backpressure (both took 4 MB of writes to a peer that reads nothing, then waited)
 * and throughput, but costs more: a connect, a 5-byte echo and a close took 165-280 µs of
 * CPU through it against 115-125 µs here (2,000 in a row, Bun 1.4.5).
 */
import type { Socket, SocketHandler } from 'bun'
import {
  type Connection,
  ConnectionRefusedError,
  type Connector,
} from '../../src/net/connection.ts'

/** Bytes the readable holds before the socket stops reading. */
const READ_BUFFER_BYTES = 64 * 1024

/** What the handlers of one socket reach: its streams' ends and the pending write. */
interface State {
  controller: ReadableStreamDefaultController<Uint8Array>
  readableDone: boolean
  /** Resolves the write waiting for `drain` (or for the close that ends it). */
  drained: (() => void) | undefined
  resolveClosed: () => void
}

const handlers: SocketHandler<State> = {
  data(socket, chunk) {
    const state = socket.data
    if (state.readableDone) return
    state.controller.enqueue(chunk)
    if ((state.controller.desiredSize ?? 0) <= 0) socket.pause()
  },
  drain(socket) {
    socket.data.drained?.()
  },
  // The peer's end of stream (FIN): nothing more to read, and our side ends too, as a
  // node:net socket without allowHalfOpen does.
  end(socket) {
    endReadable(socket.data)
    socket.end()
  },
  close(socket, error) {
    const state = socket.data
    if (!state.readableDone) {
      state.readableDone = true
      if (error) state.controller.error(error)
      else state.controller.close()
    }
    state.drained?.()
    state.resolveClosed()
  },
  // A failure is followed by close (with the error); nothing to do before it.
  error() {},
  connectError() {},
}

function endReadable(state: State): void {
  if (state.readableDone) return
  state.readableDone = true
  state.controller.close()
}

/**
 * Opens a TCP (or TLS) connection with `Bun.connect`.
 *
 * @example
 * ```ts
 * const conn = await connectBun({ hostname: '127.0.0.1', port: 6379 })
 * ```
 */
export const connectBun: Connector = async ({ hostname, port, tls = false, signal }) => {
  const { promise: closed, resolve: resolveClosed } = Promise.withResolvers<void>()
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let socket: Socket<State> | undefined
  const readable = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c
      },
      pull: () => void socket?.resume(),
      // Cancelled by its reader: closing the socket must not touch the stream again.
      cancel: () => {
        state.readableDone = true
        return close()
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: READ_BUFFER_BYTES })
  )
  const state: State = { controller, readableDone: false, drained: undefined, resolveClosed }
  const connecting = Bun.connect<State>({
    hostname,
    port,
    tls,
    // Our writable's close() sends FIN and the answer can still be read.
    allowHalfOpen: true,
    data: state,
    socket: handlers,
  })
  try {
    socket = await (signal ? raceAbort(connecting, signal) : connecting)
  } catch (error) {
    if ((error as { code?: string }).code === 'ECONNREFUSED') {
      throw new ConnectionRefusedError(`connection to ${hostname}:${port} refused`, {
        cause: error,
      })
    }
    throw error
  }
  const open = socket
  let closing = false
  function close(): Promise<void> {
    if (!closing) {
      closing = true
      signal?.removeEventListener('abort', close)
      open.terminate()
    }
    return closed
  }
  signal?.addEventListener('abort', close, { once: true })
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let offset = 0; offset < chunk.byteLength; ) {
        const written = open.write(chunk, offset, chunk.byteLength - offset)
        if (written < 0) throw new Error(`connection to ${hostname}:${port} closed`)
        offset += written
        if (offset < chunk.byteLength) {
          await new Promise<void>((resolve) => {
            state.drained = resolve
          })
          state.drained = undefined
        }
      }
    },
    // FIN only: end() would close the socket, losing the answer still to come.
    close: () => open.shutdown(),
    abort: () => void close(),
  })
  const connection: Connection = { readable, writable, closed, close }
  return connection
}

/** `connecting`, or the signal's reason once it aborts (a socket that opens later is closed). */
function raceAbort<T extends { terminate(): void }>(
  connecting: Promise<T>,
  signal: AbortSignal
): Promise<T> {
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    connecting.then(
      (socket) => {
        signal.removeEventListener('abort', onAbort)
        if (signal.aborted) socket.terminate()
        else resolve(socket)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      }
    )
  })
}
