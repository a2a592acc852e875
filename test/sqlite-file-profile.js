// Runs a test file on a SQLite file of its own, as `npm start` runs the gateway: ingest then goes
// through the write workers (srv/workers), which an in-memory database cannot have.
const fs = require('node:fs'), os = require('node:os'), path = require('node:path')
process.env.NODE_ENV = 'test'
process.env.CDS_PLUGIN_UI5_ACTIVE = 'false'
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-test-'))
process.env.cds_requires_db_credentials_url = path.join(dir, 'router.sqlite')
afterAll(() => {
  // the next file in this jest worker may belong to another project
  delete process.env.cds_requires_db_credentials_url
  fs.rmSync(dir, { recursive: true, force: true })
})
require('./quiet-console')
