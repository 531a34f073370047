import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { describeExampleConformance } from './runner.ts'

// examples/app.ts served in this process through edgeio/node, by edgeio/testing.
describeExampleConformance('node', {
  service: { app: 'examples/app.ts' },
  // The server runs in this process: trust the test CA the way NODE_EXTRA_CA_CERTS would
  // for a server started with it, by adding it to Node's default CA list.
  trust: ({ echo }) =>
    setDefaultCACertificates([...getCACertificates('default'), echo.certificates.ca]),
})
