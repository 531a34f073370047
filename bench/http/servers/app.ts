import { Hono } from 'hono'
import { HELLO, user } from './routes.ts'

/** The benchmark routes as a Hono app, shared by the Hono and edgeio servers. */
export const app = new Hono()
  .get('/', (c) => c.text(HELLO))
  .get('/user/:id', (c) => c.json(user(c.req.param('id'))))
  .post('/echo', async (c) => c.json(await c.req.json()))
