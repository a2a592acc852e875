import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

/** Debian's Chromium (apt-get install chromium); nothing here downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium'
export const screenshots = path.join(process.cwd(), 'test/screenshots')

/**
 * Resolves the SAPUI5 libraries of ui5.yaml into ~/.ui5 (from the npm registry) before a server starts,
 * so that the server's start stays within startServer's 30 s also on a machine that has never run the apps.
 */
export function resolveUI5() {
  const ui5 = spawnSync(process.execPath, [path.join(process.cwd(), 'node_modules/@ui5/cli/bin/ui5.cjs'), 'tree'], {
    cwd: path.join(process.cwd(), 'app/decisions'), encoding: 'utf8', timeout: 20 * 60_000,
  })
  if (ui5.status !== 0) throw new Error(`ui5 tree failed (${ui5.status}):\n${ui5.stdout}\n${ui5.stderr}`)
}

/**
 * A fresh headless Chromium profile, logged in with basic auth as `user`: it sends the credentials with every request,
 * as a browser does once its user has answered the login prompt. (Playwright's `httpCredentials` would hold up every
 * request on its way through the test process, to answer a challenge that never comes: 0.5-0.8 s of a first load.)
 */
export async function launchBrowser(user: string) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  mkdirSync(screenshots, { recursive: true })
  const profile = mkdtempSync(path.join(tmpdir(), 'router-fiori-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    extraHTTPHeaders: { authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64') },
    viewport: { width: 1440, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  })
  context.setDefaultTimeout(60_000)
  const close = async () => { await context.close(); rmSync(profile, { recursive: true, force: true }) }
  return { context, close }
}

export async function openPage(context: BrowserContext, url: string) {
  const page = context.pages()[0] ?? await context.newPage()
  track(page)
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 300_000 })
  await waitForUI5(page)
  return page
}

/** Requests the browser has sent and not yet seen answered, per page. */
const inFlight = new WeakMap<Page, number>()

function track(page: Page) {
  if (inFlight.has(page)) return
  inFlight.set(page, 0)
  page.on('request', () => inFlight.set(page, inFlight.get(page)! + 1))
  page.on('requestfinished', () => inFlight.set(page, inFlight.get(page)! - 1))
  page.on('requestfailed', () => inFlight.set(page, inFlight.get(page)! - 1))
}

/** Waits until the app has started, no request is open and no busy indicator shows, steadily for a second. */
export async function waitForUI5(page: Page, timeoutMs = 300_000) {
  track(page)
  await page.waitForFunction(() => {
    const w = window as unknown as { sap?: { ui?: { require?: (m: string) => unknown } } }
    return !!w.sap?.ui?.require?.('sap/fe/core/AppComponent')
  }, undefined, { timeout: timeoutMs, polling: 250 })
  const deadline = Date.now() + timeoutMs
  for (let quietSince = 0; ;) {
    const busy = await page.evaluate(() => [...document.querySelectorAll('.sapUiLocalBusyIndicator, .sapMBusyDialog, .sapUiBusy')]
      .some(e => (e as HTMLElement).offsetParent !== null))
    const quiet = !busy && inFlight.get(page)! <= 0
    if (!quiet) quietSince = 0
    else if (!quietSince) quietSince = Date.now()
    else if (Date.now() - quietSince >= 1000) return
    if (Date.now() > deadline) throw new Error(`UI5 still busy after ${timeoutMs} ms (${inFlight.get(page)} requests open, busy indicator: ${busy})`)
    await page.waitForTimeout(200)
  }
}

/** The count in the title of the visible Fiori elements table whose id contains `tableId`, e.g. "Routing Decisions (400)". */
export async function tableCount(page: Page, tableId: string) {
  const title = page.locator(`[id*="${tableId}"][id$="-title-inner"]:visible`).first()
  await title.waitFor({ state: 'visible' })
  const text = await title.innerText()
  const m = /\(([\d,]+)\)/.exec(text)
  if (!m) throw new Error(`no count in table title "${text}"`)
  return Number(m[1].replace(/,/g, ''))
}

/** `$count` of an entity set with an optional `$filter`, asked of the server directly. */
export async function odataCount(base: string, user: string, entitySet: string, filter?: string) {
  const url = `${base}/${entitySet}/$count` + (filter ? `?$filter=${encodeURIComponent(filter)}` : '')
  const res = await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64') } })
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return Number(await res.text())
}

export async function odataGet<T>(url: string, user: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from(`${user}:${user}`).toString('base64') } })
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return await res.json() as T
}

export const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshots, `${name}.png`) })
