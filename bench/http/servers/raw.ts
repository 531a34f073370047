// Raw node:http: the physical limit of this stack. Content-Length, not chunked, like the others.
import { createServer } from 'node:http'
import { HELLO, user } from './routes.ts'

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  if (req.method === 'GET' && url === '/') {
    res.writeHead(200, {
      'content-type': 'text/plain; charset=UTF-8',
      'content-length': Buffer.byteLength(HELLO),
    })
    res.end(HELLO)
  } else if (req.method === 'GET' && url.startsWith('/user/')) {
    const body = JSON.stringify(user(url.slice(6)))
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  } else if (req.method === 'POST' && url === '/echo') {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString()))
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      })
      res.end(body)
    })
  } else {
    res.writeHead(404).end()
  }
})
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'))
