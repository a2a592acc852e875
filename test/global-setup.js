module.exports = () => {
  // lets cds load the .ts service implementations (srv/*/service.ts) inside jest
  process.env.CDS_TYPESCRIPT = 'true'
  // request logs of hundreds of test requests would bury the test report
  process.env.cds_log_levels_odata = 'warn'
  process.env.cds_log_levels_cds = 'warn'
  process.env.cds_log_levels_serve = 'warn'
  process.env.cds_log_levels_deploy = 'warn'
  process.env.cds_log_levels_writers = 'warn'
}
