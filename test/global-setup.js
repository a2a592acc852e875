module.exports = () => {
  // lets cds load the .ts service implementations (srv/*/service.ts) inside jest
  process.env.CDS_TYPESCRIPT = 'true'
  // the servers of hundreds of test requests would bury the report: warnings and errors only, so a real one stands out
  process.env['cds_log_levels_cds.serve'] = 'warn' // 'loaded model', 'serving', 'listening' of every server start
  process.env.cds_log_levels_cds = 'warn'
  process.env.cds_log_levels_serve = 'warn'
  process.env.cds_log_levels_deploy = 'warn'
  process.env.cds_log_levels_writers = 'warn'
  // CAP logs each 4xx answer as a warning: here those are requests that tests make fail on purpose; 5xx stay errors
  process.env.cds_log_levels_odata = 'error'
}
