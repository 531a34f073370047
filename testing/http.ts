/**
 * The ways a test reaches a running service: fetch by path, a WebSocket that is open before
 * it is handed over, and server-sent events read one at a time.
 */
import type { ServerSentEvent } from './types.ts'

/**
 * Opens a WebSocket to `path` on `base` (its scheme turned into ws/wss) and resolves once it
 * is open. Rejects with the close code if the server refuses it.
 *
 * @example
 * const socket = await openWebSocket(server.url, '/ws')
 * socket.send('hello')
 */
export function openWebSocket(
  base: string,
  path: string,
  protocols?: string | string[]
): Promise<WebSocket> {
  const url = new URL(path, base)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  const socket = new WebSocket(url.href, protocols)
  return new Promise((resolve, reject) => {
    socket.addEventListener('open', () => resolve(socket), { once: true })
    socket.addEventListener(
      'close',
      (event) => reject(new Error(`WebSocket ${url} closed before opening (${event.code})`)),
      { once: true }
    )
  })
}

/**
 * Yields the events of a `text/event-stream` response as the server sends them, until the
 * stream ends. Comments (`:` lines) are skipped; a multi-line `data` is joined with `\n`.
 *
 * @example
 * for await (const event of readEvents(await fetch(url))) console.log(event.data)
 */
export async function* readEvents(
  response: Response
): AsyncGenerator<ServerSentEvent, void, undefined> {
  if (!response.body) return
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  try {
    for (;;) {
      const end = /\r?\n\r?\n/.exec(buffered)
      if (end) {
        const event = parseEvent(buffered.slice(0, end.index))
        buffered = buffered.slice(end.index + end[0].length)
        if (event) yield event
        continue
      }
      const { value, done } = await reader.read()
      if (done) return
      buffered += value
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
}

function parseEvent(block: string): ServerSentEvent | undefined {
  const event: ServerSentEvent = {}
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'data') data.push(value)
    else if (field === 'event') event.event = value
    else if (field === 'id') event.id = value
  }
  if (data.length > 0) event.data = data.join('\n')
  return data.length > 0 || event.event !== undefined ? event : undefined
}
