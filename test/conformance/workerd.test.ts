import { describeExampleConformance } from './runner.ts'

// A real workerd serving the root wrangler.toml (examples/workers/index.ts), started by
// edgeio/testing through wrangler's dev server and reached over HTTP like the others.
describeExampleConformance('workerd', {
  service: { wrangler: 'wrangler.toml', workerdLogLevel: 'none' },
  // miniflare reads NODE_EXTRA_CA_CERTS when it is loaded and gives workerd's outbound
  // network those certificates to trust: set it before edgeio/testing loads wrangler.
  trust: ({ echo }) => {
    process.env.NODE_EXTRA_CA_CERTS = echo.certificates.caPath
  },
})
