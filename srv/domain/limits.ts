/** The limits of the gateway's inputs, each defined once; the README and the error messages quote them. */

/** Records (decisions and metrics together) that one `ingest` call or OTLP export may carry. */
export const MAX_RECORDS_PER_CALL = 5000
/** Requests that one `$batch` may carry. */
export const MAX_BATCH_REQUESTS = 100
/** Levels that a `$expand` may nest. */
export const MAX_EXPAND_DEPTH = 3
