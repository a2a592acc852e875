/* global sap */
sap.ui.define(['sap/fe/core/AppComponent', 'sap/base/i18n/Formatting'], function (AppComponent, Formatting) {
  'use strict'
  // the context window is a whole number of tokens (app/common.cds: @Measures.Unit); SAPUI5 knows no such unit
  // and would show it with three decimals, so the app declares it
  Formatting.addCustomUnits({ tokens: { displayName: 'tokens', 'unitPattern-count-one': '{0} token', 'unitPattern-count-other': '{0} tokens', decimals: 0 } })
  return AppComponent.extend('router.models.Component', { metadata: { manifest: 'json' } })
})
