import { launch, router, admin, metric } from './support'

/**
 * Fields the server owns cannot be set by a client: who created or changed a row (managed),
 * whether an agent or model was registered on the fly, and an assignment's running figures.
 * CAP drops such input silently; the tests assert what is stored.
 */
const { GET, POST, PATCH } = launch()

const forged = { createdBy: 'mallory', modifiedBy: 'mallory', createdAt: '2000-01-01T00:00:00.000Z', modifiedAt: '2000-01-01T00:00:00.000Z' }
const ifMatchAny = (user: typeof admin) => ({ ...user, headers: { 'If-Match': '*' } })
// AdminService's Agents and Models are draft-enabled: IsActiveEntity: true creates the active entity itself, not a draft
const active = (service: string) => service === 'admin' ? { IsActiveEntity: true } : {}

describe('server-owned fields', () => {
  test.each([
    ['router', 'Agents', router],
    ['router', 'Models', router],
    ['admin', 'Agents', admin],
    ['admin', 'Models', admin],
  ])('POST /%s/%s: createdBy/modifiedBy are the caller, autoRegistered stays false', async (service, entity, user) => {
    const ID = `forged-${service}-${entity}`
    const res = await POST(`/odata/v4/${service}/${entity}`, { ID, name: 'Forged', autoRegistered: true, ...forged, ...active(service) }, user)
    expect(res.status).toBe(201)
    const { data } = await GET(`/odata/v4/admin/${entity}('${ID}')`, admin)
    expect(data).toMatchObject({ ID, autoRegistered: false, createdBy: user.auth.username, modifiedBy: user.auth.username })
    expect(data.createdAt).not.toBe(forged.createdAt)
  })

  test.each([
    ['router', router],
    ['admin', admin],
  ])('PATCH via %s cannot set autoRegistered or rewrite who created the row', async (service, user) => {
    const ID = `patched-by-${service}`
    expect((await POST('/odata/v4/admin/Agents', { ID, name: 'Original', ...active('admin') }, admin)).status).toBe(201)
    const res = await PATCH(`/odata/v4/${service}/Agents('${ID}')`, { name: 'Renamed', autoRegistered: true, ...forged }, user)
    expect(res.status).toBe(200)
    const { data } = await GET(`/odata/v4/admin/Agents('${ID}')`, admin)
    expect(data).toMatchObject({ name: 'Renamed', autoRegistered: false, createdBy: 'admin', modifiedBy: user.auth.username })
  })

  test('an agent the router registers on the fly is autoRegistered, created by the router', async () => {
    const res = await POST('/odata/v4/router/ingest', { metrics: [metric({ agent_ID: 'fresh-agent', model_ID: 'fresh-model' })] }, router)
    expect(res.status).toBe(200)
    const { data } = await GET(`/odata/v4/admin/Agents('fresh-agent')`, admin)
    expect(data).toMatchObject({ autoRegistered: true, createdBy: 'router' })
  })

  test('a model the router registered keeps its mark when an admin prices it in a draft; the next metrics cost the new prices', async () => {
    expect((await POST('/odata/v4/router/ingest', { metrics: [metric({ model_ID: 'unpriced-model' })] }, router)).status).toBe(200)
    const edit = await POST(`/odata/v4/admin/Models(ID='unpriced-model',IsActiveEntity=true)/AdminService.draftEdit`, { PreserveChanges: true }, admin)
    expect(edit.status).toBe(201)
    expect(edit.data).toMatchObject({ IsActiveEntity: false, autoRegistered: true })
    const key = `(ID='unpriced-model',IsActiveEntity=false)`
    const patched = await PATCH(`/odata/v4/admin/Models${key}`, { inputPricePer1M: 1.25, outputPricePer1M: 5, autoRegistered: false, ...forged }, ifMatchAny(admin))
    expect(patched.status).toBe(200)
    const activated = await POST(`/odata/v4/admin/Models${key}/AdminService.draftActivate`, {}, ifMatchAny(admin))
    expect(activated.status).toBe(200)
    expect(activated.data).toMatchObject({ IsActiveEntity: true, autoRegistered: true, createdBy: 'router', modifiedBy: 'admin' })
    expect([Number(activated.data.inputPricePer1M), Number(activated.data.outputPricePer1M)]).toEqual([1.25, 5])

    const priced = metric({ model_ID: 'unpriced-model', inputTokens: 1000, outputTokens: 200 })
    expect((await POST('/odata/v4/router/ingest', { metrics: [priced] }, router)).status).toBe(200)
    const { data } = await GET(`/odata/v4/router/InferenceMetrics(${priced.ID})`, router)
    expect(Number(data.cost)).toBeCloseTo((1000 * 1.25 + 200 * 5) / 1e6, 12)
  })

  test('an assignment\'s figures come from metrics only: not from a router\'s POST, nor through the admin draft', async () => {
    const figures = { totalRequests: 999, successfulRequests: 998, successRate: 1, avgLatencyMs: 1, p95LatencyMs: 1, lastUsedAt: '2020-01-01T00:00:00Z' }
    const posted = await POST('/odata/v4/router/Assignments', { agent_ID: 'support-bot', model_ID: 'gpt-4o', ...figures, ...forged }, router)
    expect(posted.status).toBe(201)
    expect(posted.data).toMatchObject({ createdBy: 'router', successRate: null, avgLatencyMs: null, lastUsedAt: null })
    expect(Number(posted.data.totalRequests)).toBe(0)

    const draft = await POST('/odata/v4/admin/Assignments', { agent_ID: 'support-bot', model_ID: 'gpt-4o-mini', ...figures }, admin)
    expect(draft.status).toBe(201)
    const key = `(ID=${draft.data.ID},IsActiveEntity=false)`
    expect((await PATCH(`/odata/v4/admin/Assignments${key}`, { ...figures, ...forged, matchScore: 0.5 }, ifMatchAny(admin))).status).toBe(200)
    const active = await POST(`/odata/v4/admin/Assignments${key}/AdminService.draftActivate`, {}, ifMatchAny(admin))
    expect(active.status).toBe(201)
    expect(active.data).toMatchObject({ matchScore: 0.5, createdBy: 'admin', successRate: null, p95LatencyMs: null, lastUsedAt: null })
    expect(Number(active.data.totalRequests)).toBe(0)
    expect(Number(active.data.successfulRequests)).toBe(0)
  })
})
