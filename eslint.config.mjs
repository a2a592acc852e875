import * as cds from '@sap/cds/eslint.config.mjs'
import cdsPlugin from '@sap/eslint-plugin-cds'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', '@cds-models/', 'gen/', 'mta_archives/', 'app/*/webapp/resources/', 'app/*/dist/'] },
  cds.eslint.recommended,
  cds.defaults,
  cds.tests,
  ...tseslint.configs.recommended,
  cdsPlugin.configs.recommended,
  { files: ['**/*.js', '**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
  { rules: { 'no-console': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }] } },
)
