// The benchmark routes as a plain Hono module worker: the baseline of the bundle comparison.
import { app } from '../http/servers/app.ts'

export default app
