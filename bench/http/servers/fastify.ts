// fastify with the same three routes.
import Fastify from 'fastify'
import { HELLO, user } from './routes.ts'

const app = Fastify()
app.get('/', async (_req, reply) => reply.type('text/plain; charset=UTF-8').send(HELLO))
app.get<{ Params: { id: string } }>('/user/:id', async (req) => user(req.params.id))
app.post('/echo', async (req) => req.body)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
console.log('ready')
