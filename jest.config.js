/** TypeScript tests against the TypeScript handlers; cds-typer runs before jest (npm test). */
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: {
    '^#cds-models/(.*)$': '<rootDir>/@cds-models/$1',
    // ts-jest turns `import './x.ts'` into require('./x.js'); resolve it to the .ts source
    '^(\\.{1,2}/(?:srv|lib|test)/.*|\\.{1,2}/[^/]+)\\.js$': '$1',
  },
}

module.exports = {
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/global-setup.js',
  projects: [
    { ...common, displayName: 'sqlite', setupFiles: ['<rootDir>/test/sqlite-profile.js'], testMatch: ['<rootDir>/test/**/*.test.ts'] },
    {
      // the service tests once more against PostgreSQL (127.0.0.1:5432, profile pg)
      ...common, displayName: 'postgres', setupFiles: ['<rootDir>/test/postgres-profile.js'],
      testMatch: ['access', 'router-service', 'ingest', 'analytics', 'retention'].map(name => `<rootDir>/test/${name}.test.ts`),
    },
  ],
}
