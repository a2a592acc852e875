// Lets cds load the .ts service implementations (srv/*/service.ts) inside jest.
module.exports = () => { process.env.CDS_TYPESCRIPT = 'true' }
