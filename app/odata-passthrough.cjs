/**
 * UI5 server middleware for local runs: the apps address their OData services relative to themselves
 * (`odata/v4/...`), as the HTML5 application repository's xs-app.json routes them on BTP. Under cds serve,
 * cds-plugin-ui5 serves each app at /<app>, so /<app>/odata/... goes on to the server's own routes as if
 * addressed at /odata/...: in the same round trip, where a redirect would cost every call of the app a second one.
 */
const cds = require('@sap/cds')

module.exports = function createMiddleware() {
  return function odataPassthrough(req, res, next) {
    if (!/^\/odata\//.test(req.url)) return next()
    req.originalUrl = req.url
    req.baseUrl = ''
    cds.app.handle(req, res, next)
  }
}
