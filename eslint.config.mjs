import * as cds from '@sap/cds/eslint.config.mjs'
import cdsPlugin from '@sap/eslint-plugin-cds'
import tseslint from 'typescript-eslint'

const readSide = { group: ['**/recorder*', '**/rollups*', '**/quality-rollups.ts', '**/bulk*', '**/write-lock*', '**/retention*'], message: 'the read side never imports the write side' }

export default tseslint.config(
  { ignores: ['node_modules/', '@cds-models/', 'gen/', 'mta_archives/', 'app/*/webapp/resources/', 'app/*/dist/'] },
  cds.eslint.recommended,
  cds.defaults,
  cds.tests,
  ...tseslint.configs.recommended,
  cdsPlugin.configs.recommended,
  { files: ['**/*.js', '**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { rules: { 'no-console': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }] } },
  // the rooms of docs/architecture.md (a later entry replaces an earlier one for its files, so each lists all its rules)
  ...rooms({
    'srv/**': [],
    'server.ts': [],
    'srv/domain/**': [{ group: ['@sap/cds', '#cds-models/*', 'express', '../*'], message: 'srv/domain holds pure figures: no CAP, no HTTP, nothing outside srv/domain' }],
    'srv/analytics-service/**': [readSide],
    'srv/data/window-stats.ts': [readSide],
    'srv/data/routing-quality.ts': [readSide],
  }),
)

/** The imports that files may not use: tools and tests never, and each room's own patterns. */
function rooms(restrictions) {
  const production = { group: ['**/tools/*', '**/test/*'], message: 'production code does not import tools or tests' }
  return Object.entries(restrictions).map(([files, patterns]) =>
    ({ files: [files], rules: { 'no-restricted-imports': ['error', { patterns: [production, ...patterns] }] } }))
}
