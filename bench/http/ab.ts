/**
 * A/B of edgeio's Node server against another checkout of it (a commit before a change),
 * for changes whose cost is smaller than the spread between full `npm run bench` runs.
 * Alternating rounds, one fresh server each, CPU time per request from schedstat: the
 * per-round ratios cancel most of the machine's drift. Prints both series and the medians.
 *
 *   git worktree add /tmp/base <rev> && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   node bench/http/ab.ts /tmp/base 'POST /echo,GET /' 16
 */
import { fileURLToPath } from 'node:url'
import { freshPort, serverCpuSecondsPrecise, startBenchServer, stopProcess } from './process.ts'
import { load, ROUTES } from './run.ts'

const [base, routeNames = 'POST /echo,GET /', roundsArg = '16'] = process.argv.slice(2)
if (base === undefined)
  throw new Error('usage: node bench/http/ab.ts <base checkout> [routes] [rounds]')
const servers = {
  base: `${base}/bench/http/servers/edgeio.ts`,
  head: fileURLToPath(new URL('./servers/edgeio.ts', import.meta.url)),
}
const rounds = Number(roundsArg)
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return ((sorted[(sorted.length - 1) >> 1] ?? 0) + (sorted[sorted.length >> 1] ?? 0)) / 2
}

for (const name of routeNames.split(',')) {
  const route = ROUTES.find((r) => r.name === name)
  if (route === undefined) throw new Error(`no route ${name}`)
  const cpu: Record<keyof typeof servers, number[]> = { base: [], head: [] }
  for (let round = 0; round < rounds; round++) {
    const entries = Object.entries(servers) as [keyof typeof servers, string][]
    for (const [which, script] of round % 2 ? entries : entries.reverse()) {
      const port = freshPort()
      const child = await startBenchServer(script, port)
      await load(port, route, 1, 64)
      const pid = child.pid as number
      const before = serverCpuSecondsPrecise(pid)
      const reply = await load(port, route, 3, 64)
      cpu[which].push(((serverCpuSecondsPrecise(pid) - before) * 1e6) / reply.requests)
      await stopProcess(child)
    }
  }
  const ratios = cpu.head.map((h, i) => h / (cpu.base[i] ?? h)).sort((a, b) => a - b)
  console.log(`## ${name}: ${rounds} alternating rounds, µs CPU per request`)
  for (const [which, values] of Object.entries(cpu)) {
    console.log(
      `${which}: ${values.map((v) => v.toFixed(1)).join(' ')} (median ${median(values).toFixed(2)})`
    )
  }
  console.log(`head/base per round: ${ratios.map((r) => r.toFixed(3)).join(' ')}`)
  console.log(`median of per-round ratios ${median(ratios).toFixed(3)}`)
}
process.exit(0)
