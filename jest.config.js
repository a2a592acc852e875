/** TypeScript tests against the TypeScript handlers; cds-typer runs before jest (npm test). */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': 'ts-jest' }, // transpiles only: tsconfig has isolatedModules
  moduleNameMapper: {
    '^#cds-models/(.*)$': '<rootDir>/@cds-models/$1',
    // ts-jest turns `import './x.ts'` into require('./x.js'); resolve it to the .ts source
    '^(\\.{1,2}/(?:app|srv|domain|data|http|service-rules|tools|test|workers|otlp)/.*|\\.{1,2}/[^/]+)\\.js$': '$1',
  },
}

/** Whether PostgreSQL answers at 127.0.0.1:5432 (profile pg); CI always runs its tests and starts it. */
function postgresAnswers() {
  if (process.env.CI === 'true') return true
  const probe = "require('net').connect(5432,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"
  const answers = require('child_process').spawnSync(process.execPath, ['-e', probe], { timeout: 3000 }).status === 0
  if (!answers) console.warn('PostgreSQL does not answer at 127.0.0.1:5432: running the tests on SQLite only')
  return answers
}

/** Whether Debian's Chromium is there for the browser tests; CI always runs them and installs it. */
function chromiumInstalled() {
  if (process.env.CI === 'true' || require('fs').existsSync('/usr/bin/chromium')) return true
  console.warn('/usr/bin/chromium is missing (apt-get install chromium): skipping the browser tests of the Fiori apps')
  return false
}

module.exports = {
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.js',
  projects: [
    {
      ...common, displayName: 'sqlite', setupFiles: ['<rootDir>/test/sqlite-profile.js'], testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: chromiumInstalled() ? [] : ['<rootDir>/test/browser/'],
    },
    {
      // the write path once more on a SQLite file, where ingest runs in the write workers
      ...common, displayName: 'sqlite file', setupFilesAfterEnv: ['<rootDir>/test/sqlite-file-profile.js'],
      testMatch: ['access', 'ingest', 'analytics', 'write-concurrency', 'otlp', 'routing-quality'].map(name => `<rootDir>/test/${name}.test.ts`),
    },
    ...postgresAnswers() ? [{
      // the service tests once more against PostgreSQL (127.0.0.1:5432, profile pg)
      ...common, displayName: 'postgres', setupFiles: ['<rootDir>/test/postgres-profile.js'],
      testMatch: ['access', 'router-service', 'ingest', 'analytics', 'retention', 'write-concurrency', 'cloud-sdk', 'otlp', 'routing-quality'].map(name => `<rootDir>/test/${name}.test.ts`),
    }] : [],
  ],
}
