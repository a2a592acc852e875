/* global sap */
sap.ui.define(['sap/fe/core/AppComponent'], function (AppComponent) {
  'use strict'
  return AppComponent.extend('router.models.Component', { metadata: { manifest: 'json' } })
})
