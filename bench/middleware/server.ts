// One GET route on edgeio's Node adapter, bare or behind one middleware (MIDDLEWARE env):
// the per-request cost of each middleware, measured by bench/middleware/run.ts.
import { serve } from '../../adapters/node/index.ts'
import { Service } from '../../src/index.ts'
import { benchApp } from './apps.ts'

await serve(new Service(benchApp(process.env.MIDDLEWARE ?? 'none')), {
  port: Number(process.env.PORT),
})
console.log('ready')
