/** TypeScript tests against the TypeScript handlers; cds-typer runs before jest (npm test). */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, allowJs: true } }] },
  moduleNameMapper: { '^#cds-models/(.*)$': '<rootDir>/@cds-models/$1' },
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60000,
}
