import cds from '@sap/cds'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { parse, parseAllDocuments, type Document } from 'yaml'

/** mta.yaml and xs-security.json name each other, the model's roles and the Fiori apps consistently. */
const root = path.resolve(__dirname, '../..')
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8')

interface Requirement { name: string; parameters?: { 'service-key'?: { name: string }; 'content-target'?: boolean }; artifacts?: string[]; 'target-path'?: string }
interface Module {
  name: string; type: string; path?: string
  parameters?: Record<string, unknown> & { content?: { instance?: { destinations?: Record<string, unknown>[] } } }
  'build-parameters'?: { requires?: Requirement[]; 'build-result'?: string }
  requires?: Requirement[]; provides?: { name: string; properties?: Record<string, string> }[]
}
interface Resource { name: string; type: string; parameters?: { service?: string; 'service-plan'?: string; path?: string; config?: Record<string, unknown>; 'service-keys'?: { name: string }[] } }
interface Mta { ID: string; 'build-parameters': { 'before-all': { commands: string[] }[] }; modules: Module[]; resources: Resource[] }
interface XsSecurity {
  xsappname: string; authorities: string[]
  scopes: { name: string }[]
  'role-templates': { name: string; 'scope-references': string[] }[]
  'role-collections': { name: string; 'role-template-references': string[] }[]
}

const mta = parse(read('mta.yaml')) as Mta
const security = JSON.parse(read('xs-security.json')) as XsSecurity
const byService = (service: string) => mta.resources.filter(r => r.parameters?.service === service)
const [xsuaa] = byService('xsuaa')
const [hdi] = mta.resources.filter(r => r.type === 'com.sap.xs.hdi-container')
const [html5Host] = byService('html5-apps-repo')
const apps = fs.readdirSync(path.join(root, 'app')).filter(app => fs.existsSync(path.join(root, 'app', app, 'webapp', 'manifest.json'))).sort()

/** The roles the services ask for in @requires and @restrict. */
async function modelRoles() {
  const csn = await cds.load('*') as unknown as { definitions: Record<string, Record<string, unknown>> }
  const roles = new Set<string>()
  for (const definition of Object.values(csn.definitions)) {
    const requires = definition['@requires']
    for (const role of [requires ?? []].flat()) roles.add(role as string)
    for (const rule of (definition['@restrict'] ?? []) as { to?: string | string[] }[]) for (const role of [rule.to ?? []].flat()) roles.add(role)
  }
  return [...roles].filter(role => role !== 'authenticated-user' && role !== 'any').sort()
}

describe('the [production] profile', () => {
  test('SAP HANA through @cap-js/hana and XSUAA through @sap/xssec, both runtime dependencies', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' }
    delete env.CDS_CONFIG
    const resolved = JSON.parse(execFileSync(process.execPath, ['-e',
      `const { requires } = require('@sap/cds').env; console.log(JSON.stringify({ db: requires.db.impl, auth: requires.auth.kind }))`,
    ], { cwd: root, env, encoding: 'utf8' }))
    expect(resolved).toEqual({ db: '@cap-js/hana', auth: 'xsuaa' })
    const { dependencies } = JSON.parse(read('package.json'))
    expect(Object.keys(dependencies)).toEqual(expect.arrayContaining(['@cap-js/hana', '@sap/xssec']))
  })
})

describe('xs-security.json', () => {
  const local = (ref: string) => ref.replace(/^\$XSAPPNAME\./, '')

  test('one scope and one role template per role of the model, and nothing else', async () => {
    const roles = await modelRoles()
    expect(roles).toEqual(['Admin', 'Analyst', 'RouterWriter'])
    expect(security.scopes.map(s => s.name).sort()).toEqual(roles.map(role => `$XSAPPNAME.${role}`))
    expect(security['role-templates'].map(t => t.name).sort()).toEqual(roles)
    for (const template of security['role-templates']) expect(template['scope-references']).toEqual([`$XSAPPNAME.${template.name}`])
  })

  test('role collections reference existing role templates; Admin\'s holds all three; every role is in one', () => {
    const templates = new Set(security['role-templates'].map(t => t.name))
    for (const collection of security['role-collections'])
      for (const ref of collection['role-template-references']) {
        expect(ref).toMatch(/^\$XSAPPNAME\./)
        expect(templates).toContain(local(ref))
      }
    const admin = security['role-collections'].find(c => c['role-template-references'].includes('$XSAPPNAME.Admin'))!
    expect(admin['role-template-references'].map(local).sort()).toEqual(['Admin', 'Analyst', 'RouterWriter'])
    for (const template of templates)
      expect(security['role-collections'].some(c => c['role-template-references'].includes(`$XSAPPNAME.${template}`))).toBe(true)
  })

  test('client-credentials tokens of the service keys carry RouterWriter (authorities), and only that', () => {
    expect(security.authorities).toEqual(['$XSAPPNAME.RouterWriter'])
    expect(security.scopes.map(s => s.name)).toContain(security.authorities[0])
  })
})

describe('mta.yaml', () => {
  test('the xsuaa resource is configured by xs-security.json and keeps its xsappname', () => {
    expect(xsuaa.parameters).toMatchObject({ 'service-plan': 'application', path: './xs-security.json' })
    expect(fs.existsSync(path.join(root, xsuaa.parameters!.path!))).toBe(true)
    expect(xsuaa.parameters!.config?.xsappname ?? security.xsappname).toBe(security.xsappname)
    expect(mta.ID).toBe(security.xsappname)
  })

  test('the service module: gen/srv, bound to xsuaa and the HDI container, health check on /health, provides srv-api', () => {
    const srv = mta.modules.find(m => m.type === 'nodejs')!
    expect(srv.path).toBe('gen/srv')
    expect(srv.requires!.map(r => r.name)).toEqual(expect.arrayContaining([xsuaa.name, hdi.name]))
    expect(srv.parameters).toMatchObject({ 'health-check-type': 'http', 'health-check-http-endpoint': '/health' })
    expect(srv.provides!.map(p => p.name)).toContain('srv-api')
  })

  test('the HDI deployer: gen/db into the HDI container on HANA', () => {
    const deployer = mta.modules.find(m => m.type === 'hdb')!
    expect(deployer.path).toBe('gen/db')
    expect(deployer.requires!.map(r => r.name)).toEqual([hdi.name])
    expect(hdi.parameters).toMatchObject({ service: 'hana', 'service-plan': 'hdi-shared' })
  })

  test('every requires names a resource or something a module provides', () => {
    const known = new Set([...mta.resources.map(r => r.name), ...mta.modules.flatMap(m => (m.provides ?? []).map(p => p.name))])
    const unknown = mta.modules.flatMap(m => (m.requires ?? []).map(r => `${m.name} -> ${r.name}`).filter(ref => !known.has(ref.split(' -> ')[1])))
    expect(unknown).toEqual([])
  })

  test('the build before all modules runs npm run build, which is cds build --production', () => {
    const commands = mta['build-parameters']['before-all'].flatMap(step => step.commands)
    expect(commands).toEqual(['npm ci', 'npm run build'])
    expect(JSON.parse(read('package.json')).scripts.build).toMatch(/^cds build --production\b/)
  })

  test('each Fiori app is an html5 module whose zip the app deployer uploads to the HTML5 repository', () => {
    expect(apps).toEqual(['assignments', 'decisions', 'models', 'performance', 'quality'])
    const deployer = mta.modules.find(m => m.type === 'com.sap.application.content' && m['build-parameters']?.requires)!
    expect(deployer.requires).toEqual([{ name: html5Host.name, parameters: { 'content-target': true } }])
    expect(html5Host.parameters).toMatchObject({ 'service-plan': 'app-host' })
    const html5 = mta.modules.filter(m => m.type === 'html5')
    expect(html5.map(m => m.path).sort()).toEqual(apps.map(app => `app/${app}`))
    for (const app of apps) {
      const { name } = html5.find(m => m.path === `app/${app}`)!
      expect(deployer['build-parameters']!.requires).toContainEqual({ name, artifacts: [`${app}.zip`], 'target-path': 'app/' })
    }
  })

  test.each(apps)('app/%s: its build zips it under its name, its routes lead to the service destination, its manifest to the HTML5 repository\'s service', app => {
    const dir = (file: string) => path.join('app', app, file)
    const manifest = JSON.parse(read(dir('webapp/manifest.json')))
    // ui5.yaml holds the app and, as a second document, its server middleware
    const [serve] = parseAllDocuments(read(dir('ui5.yaml'))).map(document => (document as Document).toJS())
    const deploy = parse(read(dir('ui5-deploy.yaml')))
    expect(serve.metadata.name).toBe(manifest['sap.app'].id)
    expect(serve.customConfiguration['cds-plugin-ui5'].mountPath).toBe(`/${app}`)
    expect(deploy.metadata.name).toBe(manifest['sap.app'].id)
    const zipper = deploy.builder.customTasks.find((t: { name: string }) => t.name === 'ui5-task-zipper')
    expect(zipper.configuration).toMatchObject({ archiveName: app, additionalFiles: ['xs-app.json'] })
    expect(JSON.parse(read(dir('package.json'))).scripts['build:cf']).toMatch(/--config ui5-deploy\.yaml/)

    const destinations = mta.modules.find(m => m.parameters?.content?.instance?.destinations)!.parameters!.content!.instance!.destinations!
    const api = destinations.find(d => d.URL === '~{srv-api/srv-url}')!
    const routes = JSON.parse(read(dir('xs-app.json'))).routes as { source: string; destination?: string; service?: string }[]
    expect(routes.find(r => new RegExp(r.source).test(`/${manifest['sap.app'].dataSources.mainService.uri}$metadata`))).toMatchObject({ destination: api.Name })
    expect(routes.find(r => new RegExp(r.source).test('/index.html'))).toMatchObject({ service: 'html5-apps-repo-rt' })
    expect(destinations.filter(d => d['sap.cloud.service']).map(d => d['sap.cloud.service'])).toContain(manifest['sap.cloud'].service)
  })

  test('the managed approuter\'s destinations name the service instances and keys this file binds', () => {
    const destinations = mta.modules.find(m => m.parameters?.content?.instance?.destinations)!
    const boundKeys = new Map((destinations.requires ?? []).filter(r => r.parameters?.['service-key']).map(r => [r.name, r.parameters!['service-key']!.name]))
    const byInstance = destinations.parameters!.content!.instance!.destinations!.filter(d => d.ServiceInstanceName)
    expect(byInstance.map(d => d.ServiceInstanceName).sort()).toEqual([xsuaa.name, html5Host.name].sort())
    for (const d of byInstance) expect(d.ServiceKeyName).toBe(boundKeys.get(d.ServiceInstanceName as string))
    const api = destinations.parameters!.content!.instance!.destinations!.find(d => d.URL === '~{srv-api/srv-url}')!
    expect(api).toMatchObject({ 'HTML5.ForwardAuthToken': true })
    expect(destinations.requires!.map(r => r.name)).toContain('srv-api')
  })
})
