/**
 * UI5 server middleware for local runs: the apps address their OData services relative to themselves
 * (`odata/v4/...`), as the HTML5 application repository's xs-app.json routes them on BTP. Under cds serve,
 * cds-plugin-ui5 serves each app at /<app>, so /<app>/odata/... is sent on to the service at /odata/...
 */
module.exports = function createMiddleware() {
  return function odataPassthrough(req, res, next) {
    if (!/^\/odata\//.test(req.url)) return next()
    res.redirect(307, req.url) // the same method, body and credentials, at the server's root
  }
}
