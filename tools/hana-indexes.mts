/**
 * `npm run build` step: the indexes of srv/data/indexes.ts as HDI index files in gen/db/src, so
 * that SAP HANA gets the same list that SQLite and PostgreSQL get at start-up, defined once.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { INDEXES } from '../srv/data/indexes.ts'

const folder = process.argv[2] ?? 'gen/db/src'
mkdirSync(folder, { recursive: true })
for (const index of INDEXES) writeFileSync(path.join(folder, `${index.split(' ')[0]}.hdbindex`), `INDEX ${index}\n`)
console.log(`${INDEXES.length} indexes for SAP HANA in ${folder}`)
