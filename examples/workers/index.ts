import { toWorker } from '../../adapters/workers.ts'
import { service } from '../app.ts'

export default toWorker(service)
