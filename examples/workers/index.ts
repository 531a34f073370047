import { toWorker } from '../../adapters/workers/index.ts'
import { queueHandler } from '../../src/index.ts'
import { service } from '../app.ts'
import { squareConsumer } from '../queue-routes.ts'

// queue: the consumer of the JOBS queue (wrangler.toml), run after the service's startup.
export default toWorker(service, { queue: queueHandler(squareConsumer) })
export { EdgeioCoordinator } from '../../adapters/workers/index.ts'
