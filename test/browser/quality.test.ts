import { startServer } from '../../tools/server-process'
import { batch, routedTraffic, DEFAULT_AGENTS, DEFAULT_MODELS } from '../../tools/workload'
import { launchBrowser, odataGet, resolveUI5, shot } from './fiori'
import type { Page, Request } from 'playwright-core'

/**
 * The Routing Quality app (app/quality) in headless Chromium against the gateway as its own process:
 * for each window the user picks, its tables and its calibration chart show what the functions answer.
 */

const DAY = 86400_000
let server: Awaited<ReturnType<typeof startServer>>
let browser: Awaited<ReturnType<typeof launchBrowser>>
let page: Page
/** The calls of the functions the page has made, newest last. */
const calls: string[] = []

jest.setTimeout(600_000)

beforeAll(async () => {
  resolveUI5()
  server = await startServer({ requires: { db: { kind: 'sqlite', credentials: { url: ':memory:' } } } }, { CDS_PLUGIN_UI5_ACTIVE: 'true' })
  // six days of a router whose strategies differ in quality: the last day and the last week differ
  const now = Date.now(), source = routedTraffic({ agents: DEFAULT_AGENTS.slice(0, 4), models: DEFAULT_MODELS, from: new Date(now - 6 * DAY), to: new Date(now - 60_000), count: 6000, seed: 13 })
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${server.url}/odata/v4/router/ingest`, {
      method: 'POST', body: JSON.stringify(batch(source, 2000)),
      headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('router:router').toString('base64') },
    })
    expect(res.status).toBe(200)
  }
  browser = await launchBrowser('analyst')
  page = browser.context.pages()[0] ?? await browser.context.newPage()
  page.on('request', (request: Request) => { if (/\/(strategyComparison|scoreCalibration|candidateRegret)\(/.test(request.url())) calls.push(decodeURIComponent(request.url())) })
}, 30 * 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

type Row = Record<string, number | string | null>
const analytics = (call: string) => odataGet<{ value: Row[] }>(`${server.url}/odata/v4/analytics/${call}`, 'analyst').then(r => r.value)

/** The view's model: how often the page has loaded its figures, whether it is loading, and its error; null before the view is there. */
const VIEW_STATE = `(() => {
  const view = document.querySelector('[id$="---main"]')
  const model = view && sap.ui.require('sap/ui/core/Element').getElementById(view.id)?.getModel('view')
  return model ? { loads: model.getProperty('/loads'), busy: model.getProperty('/busy'), error: model.getProperty('/error') } : null
})()`
const state = async () => await page.evaluate(VIEW_STATE) as { loads: number; busy: boolean; error: string }

/** Waits until the page has loaded its figures more than `loads` times and shows them. */
async function loaded(loads: number) {
  await page.waitForFunction(`(s => s && s.loads > ${loads} && !s.busy)(${VIEW_STATE})`, undefined, { timeout: 300_000, polling: 200 })
  expect((await state()).error).toBe('')
  await page.waitForTimeout(500) // the chart draws after the data arrived
}

/** The window `from=…,to=…` of the page's last strategyComparison call. */
const lastWindow = () => /strategyComparison\((from=[^,]+,to=[^)]+)\)/.exec(calls.filter(c => c.includes('strategyComparison(')).at(-1)!)![1]

/** The texts of the cells of each row of the table whose id ends with `id`. */
const cells = (id: string) => page.locator(`[id$="--${id}"] tbody tr.sapMLIB`).evaluateAll(rows => rows.map(row => [...row.querySelectorAll('td.sapMListTblCell')].map(td => (td as HTMLElement).innerText.trim())))
/** The number a cell shows (an ObjectNumber adds the words screen readers hear). */
const number = (text: string) => Number(/-?[\d,]+(\.\d+)?/.exec(text)![0].replace(/,/g, ''))

/** The page shows what the functions answer for the window it asked for. */
async function expectPageMatches() {
  const window = lastWindow()
  const [strategies, regret] = await Promise.all([analytics(`strategyComparison(${window})`), analytics(`candidateRegret(${window},minRequests=20)`)])
  expect(strategies.length).toBeGreaterThan(2)
  const shown = await cells('strategies')
  expect(shown.map(r => r[0])).toEqual(strategies.map(s => s.strategy))
  shown.forEach((row, i) => {
    const s = strategies[i]
    expect(number(row[1])).toBe(Number(s.decisions))
    expect(number(row[3])).toBe(Number(s.requests))
    expect(Math.abs(number(row[4]) - 100 * Number(s.successRate))).toBeLessThanOrEqual(0.05 + 1e-9)
    expect(row[9].split('\n')[0]).toBe(s.pValueVsBest === null ? 'best' : Number(s.pValueVsBest) < 0.001 ? '< 0.001' : Number(s.pValueVsBest).toFixed(3))
  })
  const regretShown = await cells('regret')
  expect(regretShown.map(r => [r[0], number(r[1]), number(r[2]), number(r[3])])).toEqual(regret.map(r => [r.strategy, Number(r.decisions), Number(r.evaluated), Number(r.betterAvailable)]))
  expect(regret.some(r => Number(r.evaluated) > 0)).toBe(true)
  // one point per strategy and bucket with requests
  const curves = await Promise.all(strategies.map(s => analytics(`scoreCalibration(${window},strategy='${s.strategy}')`)))
  const points = curves.flat().filter(r => Number(r.requests) > 0).length
  expect(points).toBeGreaterThan(strategies.length)
  // the chart redraws after its data changed, at its own pace: wait for it to settle before counting
  const drawn = '[id$="--calibration"] svg .v-datapoint'
  await page.waitForFunction(([selector, n]) => document.querySelectorAll(selector as string).length === n, [drawn, points], { timeout: 30_000, polling: 200 }).catch(() => undefined)
  await expect(page.locator(drawn).count()).resolves.toBe(points)
  return strategies
}

test('the launch page leads to the Routing Quality app', async () => {
  await page.goto(`${server.url}/`)
  await expect(page.locator('a#tile-quality').getAttribute('href')).resolves.toBe('quality/index.html')
})

test('the last 24 hours: strategies with interval and p-value, the calibration curves and the regret table as the functions answer', async () => {
  await page.goto(`${server.url}/quality/index.html`, { waitUntil: 'domcontentloaded', timeout: 300_000 })
  await loaded(0)
  const window = lastWindow(), [from, to] = window.split(',').map(p => Date.parse(p.split('=')[1]))
  expect(to - from).toBe(DAY)
  expect(Math.abs(to - Date.now())).toBeLessThan(10 * 60_000)
  await expectPageMatches()
  await shot(page, 'quality-24h')
})

test('the last 7 days', async () => {
  const before = (await state()).loads
  await page.getByRole('option', { name: 'Last 7 Days' }).click()
  await loaded(before)
  const [from, to] = lastWindow().split(',').map(p => Date.parse(p.split('=')[1]))
  expect(to - from).toBe(7 * DAY)
  const strategies = await expectPageMatches()
  expect(strategies.reduce((a, s) => a + Number(s.decisions), 0)).toBe(6000)
  await shot(page, 'quality-7d')
})

test('a custom window typed into the pickers', async () => {
  await page.getByRole('option', { name: 'Custom' }).click()
  const day = new Date(Date.now() - 3 * DAY), date = day.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' })
  for (const [id, time] of [['from', '2:00:00 AM'], ['to', '8:30:00 PM']]) {
    const input = page.locator(`[id$="--${id}-inner"]`)
    await input.fill(`${date}, ${time}`)
    await input.press('Enter')
  }
  const before = (await state()).loads
  await page.getByRole('button', { name: 'Apply' }).click()
  await loaded(before)
  const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate())
  expect(lastWindow()).toBe(`from=${new Date(start + 2 * 3600_000).toISOString()},to=${new Date(start + 20.5 * 3600_000).toISOString()}`)
  await expectPageMatches()
  await shot(page, 'quality-custom')
})
