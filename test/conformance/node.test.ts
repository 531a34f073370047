import { afterAll, beforeAll } from 'vitest'
import { type NodeServer, serve } from '../../adapters/node.ts'
import { service } from '../../examples/app.ts'
import { describeConformance } from './cases.ts'
import { httpClient, SESSION_SECRET } from './client.ts'
import { closedPort, startEchoServer } from './echo-server.ts'

const TOKEN = 'node-conformance-token'
let server: NodeServer
const client = httpClient('node', TOKEN, () => server.url)

let echo: Awaited<ReturnType<typeof startEchoServer>>

beforeAll(async () => {
  echo = await startEchoServer()
  server = await serve(service, {
    port: 0,
    signals: false,
    env: {
      API_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      ECHO_PORT: String(await closedPort()),
      ECHO_FALLBACK_PORT: String(echo.port),
      SESSION_SECRET,
    },
  })
})
afterAll(async () => {
  await server?.close()
  echo?.close()
})

describeConformance(client)
