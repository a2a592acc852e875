/** TypeScript tests against the TypeScript handlers; cds-typer runs before jest (npm test). */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  moduleNameMapper: {
    '^#cds-models/(.*)$': '<rootDir>/@cds-models/$1',
    // ts-jest turns `import './x.ts'` into require('./x.js'); resolve it to the .ts source
    '^(\\.{1,2}/(?:srv|lib|test)/.*|\\.{1,2}/[^/]+)\\.js$': '$1',
  },
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
}
