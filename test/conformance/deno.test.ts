import { describeExampleConformance } from './runner.ts'
import { DENO_FLAGS, ENTRIES } from './spawn.ts'

// The real deno binary (npm package `deno`) serving examples/deno/main.ts, by edgeio/testing.
describeExampleConformance('deno', {
  service: { entries: ENTRIES, denoFlags: DENO_FLAGS },
  // Deno adds the certificates of this PEM file to its trust store (fetch, connectTls).
  env: ({ echo }) => ({ DENO_CERT: echo.certificates.caPath }),
})
