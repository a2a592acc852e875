/**
 * SAPUI5 with library preloads for the apps under app/ when cds-plugin-ui5 serves them locally (npm start,
 * cds watch, the browser tests). The npm packages of SAPUI5 hold sources only, which the UI5 server hands out
 * module by module: ~1,550 requests per first load. `ui5 build` turns the libraries the apps use into
 * library-preload.js bundles and compiled themes once, into a folder keyed by UI5 version and libraries
 * (beside the UI5 tooling's own packages in ~/.ui5), and this module, as a UI5 server middleware of each app
 * (its ui5.yaml), serves /<app>/resources/* from there.
 * Production is not concerned: the HTML5 application repository and the launchpad bring SAPUI5 there.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import path from 'node:path'
import express, { type NextFunction, type Request, type Response } from 'express'

/** Bump when the way of building changes, so that older builds are not served. */
const RECIPE = 3

export interface UI5App {
  /** folder under app/ */
  name: string
  dir: string
  /** where cds-plugin-ui5 mounts the app, e.g. /decisions */
  mountPath: string
  framework: { name: string; version: string }
  /** the libraries the app's manifest declares, and the theme libraries of its ui5.yaml */
  libraries: string[]
}

/** One build of SAPUI5 libraries, shared by all apps of the same framework version. */
export interface PreloadBuild {
  framework: { name: string; version: string }
  libraries: string[]
  apps: UI5App[]
  /** the build's folder; its resources/ is what /<app>/resources/ serves */
  dir: string
}

/** The UI5 apps under app/: each folder with a ui5.yaml of an application, as cds-plugin-ui5 finds them. */
export function ui5Apps(root = process.cwd()): UI5App[] {
  const appRoot = path.join(root, 'app')
  if (!existsSync(appRoot)) return []
  // a development dependency, like cds-plugin-ui5 itself
  const { parseAllDocuments } = createRequire(path.join(root, 'package.json'))('yaml') as typeof import('yaml')
  const apps: UI5App[] = []
  for (const entry of readdirSync(appRoot, { withFileTypes: true }).filter(e => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(appRoot, entry.name)
    const configFile = path.join(dir, 'ui5.yaml')
    if (!existsSync(configFile)) continue
    const config = parseAllDocuments(readFileSync(configFile, 'utf8')).map(d => d.toJS() as UI5Config).find(c => c?.type === 'application')
    const manifestFile = path.join(dir, config?.resources?.configuration?.paths?.webapp ?? 'webapp', 'manifest.json')
    if (!config?.framework || !existsSync(manifestFile)) continue
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { 'sap.ui5'?: { dependencies?: { libs?: Record<string, unknown> } } }
    const custom = config.customConfiguration
    const mountPath = custom?.['cds-plugin-ui5']?.mountPath ?? custom?.mountPath ?? config.metadata.name
    apps.push({
      name: entry.name, dir, mountPath: mountPath.startsWith('/') ? mountPath : `/${mountPath}`,
      framework: { name: config.framework.name, version: String(config.framework.version) },
      libraries: [
        ...Object.keys(manifest['sap.ui5']?.dependencies?.libs ?? {}),
        ...(config.framework.libraries ?? []).map(l => l.name).filter(n => n.startsWith('themelib_')),
      ],
    })
  }
  return apps
}

interface UI5Config {
  type?: string
  metadata: { name: string }
  framework?: { name: string; version: string | number; libraries?: { name: string }[] }
  resources?: { configuration?: { paths?: { webapp?: string } } }
  customConfiguration?: { mountPath?: string; 'cds-plugin-ui5'?: { mountPath?: string } }
}

/** The builds the apps need: one per framework version, over the union of their libraries. */
export function preloadBuilds(root = process.cwd()): PreloadBuild[] {
  const builds = new Map<string, PreloadBuild>()
  for (const app of ui5Apps(root)) {
    const id = `${app.framework.name}-${app.framework.version}`
    const build = builds.get(id) ?? { framework: app.framework, libraries: [], apps: [], dir: '' }
    build.apps.push(app)
    build.libraries = [...new Set([...build.libraries, ...app.libraries])].sort()
    builds.set(id, build)
  }
  const tooling = toolingVersion(root)
  for (const [id, build] of builds) {
    const key = createHash('sha256').update(JSON.stringify({ RECIPE, tooling, libraries: build.libraries })).digest('hex').slice(0, 12)
    build.dir = path.join(ui5DataDir(), 'preloads', `${id}-${key}`)
  }
  return [...builds.values()]
}

/** Where the UI5 tooling keeps its framework packages: $UI5_DATA_DIR or ~/.ui5. */
const ui5DataDir = () => process.env.UI5_DATA_DIR ? path.resolve(process.env.UI5_DATA_DIR) : path.join(homedir(), '.ui5')

const ui5Cli = (root: string) => path.join(root, 'node_modules/@ui5/cli/bin/ui5.cjs')

/** The version of @ui5/cli: another version of the tooling may build differently. */
function toolingVersion(root: string) {
  try { return (JSON.parse(readFileSync(path.join(root, 'node_modules/@ui5/cli/package.json'), 'utf8')) as { version: string }).version } catch { return 'none' }
}

/** A build is complete once its marker is written, which happens last. */
const DONE = 'build-complete.json'
const isBuilt = (build: PreloadBuild) => existsSync(path.join(build.dir, DONE))

/**
 * Builds what is missing of `preloadBuilds()`: `ui5 build --all` of an application whose framework libraries are
 * the apps' libraries, so that the UI5 tooling resolves their dependencies, bundles each library into
 * library-preload.js and compiles its themes. Several processes may call this at once: one builds, the others wait.
 */
export async function buildPreloads(root = process.cwd(), log: (line: string) => void = line => console.log(line)) {
  const built: PreloadBuild[] = []
  for (const build of preloadBuilds(root)) {
    if (isBuilt(build)) { built.push(build); continue }
    await exclusively(`${build.dir}.lock`, async () => {
      if (isBuilt(build)) return
      const started = Date.now()
      log(`SAPUI5 ${build.framework.version}: building library preloads of ${build.libraries.join(', ')} and their dependencies for ` +
        `${build.apps.map(a => a.name).join(', ')} into ${build.dir} (once; a few minutes)`)
      const work = `${build.dir}.tmp`
      rmSync(work, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      // the first app stands in as the root project; the config names the libraries of all apps
      const configFile = path.join(work, 'ui5.yaml')
      writeFileSync(configFile, JSON.stringify({ // YAML is a superset of JSON
        specVersion: '4.0', type: 'application', metadata: { name: 'ui5-preloads' },
        framework: { name: build.framework.name, version: build.framework.version, libraries: build.libraries.map(name => ({ name })) },
      }, null, 2))
      const dest = path.join(work, 'dist')
      const logFile = path.join(work, 'build.log')
      // sap-ui-version.json too, which the UI5 server would compute at each server's first request (about 2 s)
      const args = ['build', '--all', '--include-task', 'generateVersionInfo', '--config', configFile, '--dest', dest]
      const status = await run(process.execPath, [ui5Cli(root), ...args], build.apps[0].dir, logFile)
      if (status !== 0) throw new Error(`ui5 build failed (exit ${status}), see ${logFile}:\n${tail(logFile)}`)
      rmSync(build.dir, { recursive: true, force: true })
      renameSync(path.join(dest, 'resources'), path.join(work, 'resources'))
      addOwnManifests(path.join(work, 'resources'))
      withoutCollaboration(path.join(work, 'resources'))
      rmSync(dest, { recursive: true, force: true })
      const seconds = Math.round((Date.now() - started) / 1000)
      writeFileSync(path.join(work, DONE), JSON.stringify({ ...build, dir: undefined, apps: build.apps.map(a => a.name), seconds }, null, 2))
      renameSync(work, build.dir)
      log(`SAPUI5 ${build.framework.version}: library preloads built in ${seconds} s`)
    })
    built.push(build)
  }
  return built
}

/**
 * Puts each library's manifest.json into its library-preload.js where the library's own bundle definition left it out
 * (sap.fe.core, sap.fe.templates), as the UI5 tooling's default library preload has it: without it the runtime does not
 * know the library's dependencies when it preloads the library, and loads sap.f, sap.ui.mdc, ... module by module.
 */
function addOwnManifests(resources: string) {
  for (const file of readdirSync(resources, { recursive: true, encoding: 'utf8' }).filter(f => path.basename(f) === 'library-preload.js')) {
    const namespace = path.dirname(file).split(path.sep).join('/')
    const manifest = path.join(resources, path.dirname(file), 'manifest.json')
    const bundleFile = path.join(resources, file)
    const bundle = readFileSync(bundleFile, 'utf8')
    if (!existsSync(manifest) || bundle.includes(`"${namespace}/manifest.json"`)) continue
    const preload = `sap.ui.require.preload({\n\t${JSON.stringify(`${namespace}/manifest.json`)}:${JSON.stringify(readFileSync(manifest, 'utf8'))}\n});\n`
    const end = bundle.lastIndexOf('//# sourceMappingURL=') // appended code leaves the source map's positions as they are
    writeFileSync(bundleFile, end < 0 ? bundle + preload : bundle.slice(0, end) + preload + bundle.slice(end))
  }
}

/**
 * Takes the collaboration libraries off the version info. Fiori elements loads `sap.suite.ui.commons` (1.3 MB of
 * script and CSS, with `sap.suite.ui.microchart`) at every start when the version info lists it, for sharing to
 * Microsoft Teams through the launchpad's collaboration service; the UI5 tooling lists it as a lazy dependency of
 * `sap.fe.templates` even where no launchpad runs, as here. The libraries stay in the build.
 */
const COLLABORATION = ['sap.collaboration', 'sap.suite.ui.commons']
function withoutCollaboration(resources: string) {
  const file = path.join(resources, 'sap-ui-version.json')
  const info = JSON.parse(readFileSync(file, 'utf8')) as { libraries: { name: string }[] }
  info.libraries = info.libraries.filter(l => !COLLABORATION.includes(l.name))
  writeFileSync(file, JSON.stringify(info, null, '\t'))
}

function run(command: string, args: string[], cwd: string, logFile: string) {
  return new Promise<number | null>((resolve, reject) => {
    const out = createWriteStream(logFile)
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.pipe(out, { end: false })
    child.stderr.pipe(out, { end: false })
    child.on('error', reject)
    child.on('close', status => out.end(() => resolve(status)))
  })
}

const tail = (file: string, lines = 20) => readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')

/** Runs `work` while holding a lock folder; waits while a live process holds it, takes over one left by a dead process. */
async function exclusively(lock: string, work: () => Promise<void>) {
  mkdirSync(path.dirname(lock), { recursive: true })
  for (;;) {
    // the lock appears with its owner's pid in one rename, which fails while another lock is there
    const mine = mkdtempSync(`${lock}-`)
    writeFileSync(path.join(mine, 'pid'), String(process.pid))
    try {
      renameSync(mine, lock)
      break
    } catch (e) {
      rmSync(mine, { recursive: true, force: true })
      if (!['EEXIST', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code!)) throw e
      if (alive(lock)) await new Promise(r => setTimeout(r, 2000))
      else rmSync(lock, { recursive: true, force: true })
    }
  }
  try {
    await work()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

function alive(lock: string) {
  let pid: number
  try { pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8')) } catch { return true } // released this instant
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}

/** Whether the server said it has no preloads yet: once, not once per app. */
let warned = false

/** What a UI5 server middleware gets of the app's project graph (UI5 tooling, specVersion 3.0 and later). */
interface MiddlewareUtil {
  getProject(name?: string): { getRootPath(): string; getType(): string; getNamespace(): string | null }
  getDependencies(name?: string): string[]
}

/**
 * Where the UI5 server could find a resource beside the build: the namespaces (`sap/m/`) of all the app's dependencies,
 * or nothing to go by where a dependency may serve any path (a project of type module).
 */
function dependencyNamespaces(util: MiddlewareUtil): string[] | undefined {
  const names = new Set<string>(), todo = util.getDependencies()
  while (todo.length) {
    const name = todo.pop()!
    if (!names.has(name)) { names.add(name); todo.push(...util.getDependencies(name)) }
  }
  const projects = [...names].map(name => util.getProject(name))
  if (projects.some(p => p.getType() === 'module')) return undefined
  return projects.map(p => p.getNamespace()).filter(ns => !!ns).map(ns => `${ns}/`)
}

/**
 * UI5 server middleware (each app's ui5.yaml, before `compression`: the bundles go out as built): serves the app's
 * `/resources/*` from its preload build where the build has the file; everything else (the app's own files, a library
 * outside the build) goes on to the UI5 server. A resource of no library of the app's dependencies is answered 404 at
 * once: Fiori elements probes `sap.insights` on the way to its first chart, and the UI5 server searches every library
 * for each such path (25-35 ms each; Model Performance's first load 4.6 -> 4.0 s on average, eight loads each).
 * cds-plugin-ui5 runs it only where it serves the apps (npm start, cds watch, the browser tests), so nothing
 * of it reaches production. Without a build yet, it says how to make one; one made while the server runs is served.
 */
export default function createMiddleware({ middlewareUtil }: { middlewareUtil: MiddlewareUtil }) {
  const appDir = middlewareUtil.getProject().getRootPath()
  const root = path.resolve(appDir, '../..')
  const builds = preloadBuilds(root)
  if (!builds.some(isBuilt) && !warned) {
    warned = true
    console.warn('SAPUI5 is served module by module (slow first loads): `npm run ui5-preloads` builds library preloads')
  }
  const namespaces = dependencyNamespaces(middlewareUtil)
  const unknown = (resource: string) => !!namespaces && resource.includes('/') && !namespaces.some(ns => resource.startsWith(ns))
  let serve: ReturnType<typeof express.static> | undefined
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/resources/')) return next()
    if (!serve) {
      // looked for until it is there, then kept
      const build = builds.find(b => isBuilt(b) && b.apps.some(a => a.dir === appDir))
      if (!build) return next()
      serve = express.static(path.join(build.dir, 'resources'), { index: false })
    }
    const url = req.url
    req.url = url.slice('/resources'.length) // the path within resources/, with the query
    serve(req, res, () => {
      req.url = url
      if (unknown(req.path.slice('/resources/'.length))) res.status(404).end()
      else next()
    })
  }
}
