/**
 * `npm run ui5-preloads`: builds the SAPUI5 library preloads that the local server serves to the apps under app/
 * (app/ui5-preloads.ts), unless built already for their UI5 version and libraries; `npm start` and
 * `npm run watch` run it first. Prints nothing when there is nothing to do.
 */
import { buildPreloads } from '../app/ui5-preloads.ts'

await buildPreloads()
