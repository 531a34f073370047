import { Hono } from 'hono'
import { stream as honoStream } from 'hono/streaming'
import { describe, expect, test, vi } from 'vitest'
import { stream, streamSSE, streamText } from './index.ts'

function app() {
  const app = new Hono()
  app.get('/ok', (c) =>
    stream(c, async (out) => {
      await out.write('a')
      await out.write('b')
    })
  )
  app.get('/fails', (c) =>
    stream(c, async (out) => {
      await out.write('partial')
      throw new Error('secret detail')
    })
  )
  app.get('/fails-text', (c) =>
    streamText(c, async (out) => {
      await out.write('partial')
      throw new Error('secret detail')
    })
  )
  app.get('/fails-sse', (c) =>
    streamSSE(
      c,
      async (sse) => {
        await sse.writeSSE({ data: 'one' })
        throw new Error('secret detail')
      },
      async (_error, sse) => {
        await sse.writeSSE({ event: 'bye', data: 'ending early' })
      }
    )
  )
  app.get('/hono-fails', (c) =>
    honoStream(c, async (out) => {
      await out.write('partial')
      throw new Error('secret detail')
    })
  )
  return app
}

/** Reads a body to its end, returning what arrived and how it ended. */
async function drain(res: Response): Promise<{ text: string; error?: unknown }> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

describe('stream helpers', () => {
  test('a stream that finishes ends its body normally', async () => {
    expect(await drain(await app().request('/ok'))).toEqual({ text: 'ab' })
  })

  test("Hono's own helper ends a failed stream as if complete (why these exist)", async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { text, error } = await drain(await app().request('/hono-fails'))
    log.mockRestore()
    expect(text).toBe('partial')
    expect(error).toBeUndefined()
  })

  test.each(['/fails', '/fails-text'])(
    '%s: a callback that throws errors the body',
    async (path) => {
      const res = await app().request(path)
      expect(res.status).toBe(200)
      const { text, error } = await drain(res)
      expect(text).toBe('partial')
      expect((error as Error).message).toBe('secret detail')
    }
  )

  test('streamSSE: onError writes its last event, then the body errors; no error event leaks the message', async () => {
    const { text, error } = await drain(await app().request('/fails-sse'))
    expect(text).toBe('data: one\n\nevent: bye\ndata: ending early\n\n')
    expect(error).toBeInstanceOf(Error)
    expect(text).not.toContain('secret')
  })
})
