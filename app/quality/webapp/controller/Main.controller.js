/* global sap */
sap.ui.define([
  'sap/ui/core/mvc/Controller', 'sap/ui/model/json/JSONModel', 'sap/ui/core/format/NumberFormat',
], function (Controller, JSONModel, NumberFormat) {
  'use strict'

  const HOUR = 3600000
  const integer = NumberFormat.getIntegerInstance({ groupingEnabled: true })
  const percent = NumberFormat.getPercentInstance({ minFractionDigits: 1, maxFractionDigits: 1 })
  const milliseconds = NumberFormat.getFloatInstance({ maxFractionDigits: 0, groupingEnabled: true })
  const dollars = NumberFormat.getFloatInstance({ minFractionDigits: 5, maxFractionDigits: 5 })
  const points = NumberFormat.getFloatInstance({ minFractionDigits: 2, maxFractionDigits: 2 })
  const utc = date => date.toISOString().slice(0, 16).replace('T', ' ')
  /** What the p-value column shows for the best strategy, from i18n once the view is up. */
  let bestText = 'best'

  /**
   * The Routing Quality page: AnalyticsService's strategyComparison, scoreCalibration (per strategy)
   * and candidateRegret over the chosen window, read as JSON (docs/analytics.md explains each figure).
   */
  return Controller.extend('router.quality.controller.Main', {
    onInit() {
      const now = Date.now()
      this.model = new JSONModel({
        window: '24h', customFrom: new Date(now - 24 * HOUR), customTo: new Date(now), minRequests: 20,
        windowText: '', strategies: [], calibration: [], regret: [], busy: false, error: '', loads: 0,
      })
      this.getView().setModel(this.model, 'view')
      bestText = this.getOwnerComponent().getModel('i18n').getResourceBundle().getText('best')
      this.byId('calibration').setVizProperties({
        title: { visible: false },
        valueAxis: { title: { visible: false }, label: { formatString: '0%' } },
        categoryAxis: { title: { visible: true } },
        plotArea: { marker: { visible: true, size: 6 }, dataLabel: { visible: false }, primaryScale: { fixedRange: true, minValue: 0, maxValue: 1 } },
        legend: { visible: true },
      })
      this.load()
    },

    onWindowChange() {
      if (this.model.getProperty('/window') !== 'custom') this.load()
    },

    onApply() { this.load() },

    onMinRequestsChange() { this.load() },

    /** `[from, to)` of the selected window. */
    window() {
      const m = this.model, now = Date.now()
      if (m.getProperty('/window') === '7d') return [new Date(now - 7 * 24 * HOUR), new Date(now)]
      if (m.getProperty('/window') === 'custom') return [m.getProperty('/customFrom'), m.getProperty('/customTo')]
      return [new Date(now - 24 * HOUR), new Date(now)]
    },

    /** The rows of a function of AnalyticsService; a failed call shows its message. */
    async get(call) {
      const base = this.getOwnerComponent().getManifestEntry('/sap.app/dataSources/mainService/uri')
      const res = await fetch(base + call, { headers: { accept: 'application/json' } })
      const body = await res.json()
      if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`)
      return body.value
    },

    async load() {
      const m = this.model, [from, to] = this.window()
      if (!(from instanceof Date) || !(to instanceof Date) || from > to) {
        m.setProperty('/error', 'Choose a window whose start lies before its end.')
        return
      }
      const bundle = this.getOwnerComponent().getModel('i18n').getResourceBundle()
      const window = `from=${from.toISOString()},to=${to.toISOString()}`
      m.setProperty('/busy', true)
      m.setProperty('/error', '')
      try {
        const [strategies, regret] = await Promise.all([
          this.get(`strategyComparison(${window})`),
          this.get(`candidateRegret(${window},minRequests=${m.getProperty('/minRequests')})`),
        ])
        const curves = await Promise.all(strategies.map(s => this.get(`scoreCalibration(${window},strategy='${s.strategy}')`)))
        // by bucket, then strategy: the chart draws its categories in the order they come
        const calibration = curves.flatMap((rows, i) => rows.filter(r => r.requests > 0).map(r => ({
          bucket: r.bucket, score: `${r.scoreFrom.toFixed(1)}–${r.scoreTo.toFixed(1)}`, strategy: strategies[i].strategy, successRate: r.successRate,
        }))).sort((a, b) => a.bucket - b.bucket || (a.strategy < b.strategy ? -1 : 1))
        // one property at a time: setData(…, true) merges arrays by index and would keep the tail of a longer earlier answer
        const figures = { strategies, regret, calibration, windowText: bundle.getText('window', [utc(from), utc(to)]) }
        for (const [name, value] of Object.entries(figures)) m.setProperty(`/${name}`, value)
      } catch (e) {
        m.setProperty('/error', e.message)
      } finally {
        m.setProperty('/busy', false)
        m.setProperty('/loads', m.getProperty('/loads') + 1)
      }
    },

    count: n => n == null ? '' : integer.format(Number(n)),
    percent: rate => rate == null ? '–' : percent.format(rate),
    interval: (low, high) => low == null ? '–' : `${percent.format(low)} – ${percent.format(high)}`,
    ms: v => v == null ? '–' : `${milliseconds.format(v)} ms`,
    usd: v => v == null ? '–' : dollars.format(v),
    points: v => v == null ? '–' : `${points.format(100 * v)} pts`,
    pValue: (p, requests) => !Number(requests) ? '–' : p == null ? bestText : p < 0.001 ? '< 0.001' : p.toFixed(3),
    pValueState: (p, requests) => !Number(requests) ? 'None' : p == null ? 'Success' : p < 0.05 ? 'Warning' : 'None',
  })
})
