/**
 * The pieces of edgeio/testing that a conformance run does not reach on its own: the event
 * parser's edge cases, refused skips, and the errors that point a user at the fix.
 */
import { describe, expect, test } from 'vitest'
import { describeRuntimes, readEvents, startRuntime } from '../../testing/index.ts'
import { pickService } from '../../testing/node.ts'

const stream = (...chunks: string[]) =>
  new Response(
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk))
        controller.close()
      },
    })
  )

async function collect(response: Response) {
  const events = []
  for await (const event of readEvents(response)) events.push(event)
  return events
}

describe('readEvents', () => {
  test('joins multi-line data, keeps event and id, skips comments, across chunk edges', async () => {
    const events = await collect(
      stream(': keep-alive\n\nevent: tick\nid: 7\nda', 'ta: one\ndata:two\n\n', 'data: x\r\n\r\n')
    )
    expect(events).toEqual([{ event: 'tick', id: '7', data: 'one\ntwo' }, { data: 'x' }])
  })

  test('an unfinished last event is not yielded', async () => {
    expect(await collect(stream('data: done\n\ndata: cut'))).toEqual([{ data: 'done' }])
  })
})

describe('describeRuntimes', () => {
  test('refuses a skip that gives no reason', () => {
    expect(() => describeRuntimes(['deno'], { skip: { deno: ' ' } }, () => {})).toThrow(
      /the skip of deno must say why/
    )
  })
})

describe('startRuntime', () => {
  test('names what is missing when a process runtime has neither app nor entry', async () => {
    await expect(startRuntime('deno', {})).rejects.toThrow(/deno needs `app`/)
  })

  test('names the export it looked for when the module has no service', () => {
    expect(() => pickService({ other: 1 }, './src/app.ts')).toThrow(
      /\.\/src\/app\.ts has no service: expected an export named service/
    )
    const service = { fetch: () => new Response('ok') }
    expect(pickService({ api: service }, './src/app.ts', 'api')).toBe(service)
    expect(pickService({ default: service }, './src/app.ts')).toBe(service)
  })
})
