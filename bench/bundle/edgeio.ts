// The same routes through edgeio's Service and Workers adapter: what every edgeio worker pays.
import { toWorker } from '../../adapters/workers/index.ts'
import { Service } from '../../src/index.ts'
import { app } from '../http/servers/app.ts'

const service = new Service(app)
export default toWorker(service)
