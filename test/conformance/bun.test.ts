import { describeExampleConformance } from './runner.ts'
import { ENTRIES } from './spawn.ts'

// The real bun binary (npm package `bun`) serving examples/bun/index.ts, by edgeio/testing.
describeExampleConformance('bun', {
  service: { entries: ENTRIES },
  // Bun adds the certificates of this PEM file to its trust store, as Node does.
  env: ({ echo }) => ({ NODE_EXTRA_CA_CERTS: echo.certificates.caPath }),
})
