/* global sap */
sap.ui.define(['sap/ui/core/UIComponent'], function (UIComponent) {
  'use strict'
  return UIComponent.extend('router.quality.Component', {
    metadata: { manifest: 'json', interfaces: ['sap.ui.core.IAsyncContentCreation'] },
  })
})
