// Runs a test file with the pg profile of .cdsrc.json (see test/support.ts for its own schema);
// as NODE_ENV, since the test profile would take precedence over a pg in CDS_ENV.
process.env.NODE_ENV = 'pg'
// cds-plugin-ui5 stays out of jest only under NODE_ENV=test; these tests need no UI5 apps
process.env.CDS_PLUGIN_UI5_ACTIVE = 'false'
require('./quiet-console')
