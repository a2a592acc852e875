import { launch, router, analyst, admin, metric, decision, uuid } from './support'

/**
 * OData conformance of the three services, clause by clause. Titles name the clause: Part1 is OData
 * v4.01 Part 1 Protocol (OASIS Standard), Part2 the URL Conventions, JSON the JSON Format 4.01,
 * Aggregation the Data Aggregation Extension 4.0; "Part1 13.1.1#7" is item 7 of the OData 4.0 Minimal
 * Conformance Level (13.1.2 Intermediate, 13.2.1 / 13.2.2 the 4.01 Minimal / Intermediate levels).
 * Every request authenticates with HTTP basic authentication (13.1.2#10).
 */
describe('OData conformance', () => {
  const { GET, POST, PATCH, PUT, DELETE } = launch()
  const R = '/odata/v4/router', A = '/odata/v4/analytics', D = '/odata/v4/admin'
  const raw = { transformResponse: (x: unknown) => x }
  const withHeaders = (user: object, headers: Record<string, string>) => ({ ...user, headers })
  const count = async (path: string, user = admin) => Number((await GET(`${path}/$count`, user)).data)
  const resolve = (location: string, requestPath: string) => new URL(location, `http://host${requestPath}`).pathname
  // AdminService's Agents and Models are draft-enabled: IsActiveEntity: true creates the active entity itself, not a draft
  const active = { IsActiveEntity: true }

  /** The decision the reading tests navigate, its metric, a metric without a decision, and 1,001 metrics of one model for paging and $apply. */
  const d1 = decision({ ID: uuid(), strategy: 'optimal', candidates: [{ model_ID: 'gpt-4o', score: 0.9, rank: 1 }, { model_ID: 'o3-mini', score: 0.7, rank: 2 }, { model_ID: 'gpt-4o-mini', score: 0.5, rank: 3 }] })
  const m1 = metric({ decision_ID: d1.ID, latencyMs: 250 }), m2 = metric({ errorCode: null, latencyMs: 300 })
  const bulk = Array.from({ length: 1001 }, (_, i) => metric({
    agent_ID: 'conf-agent', model_ID: i % 2 ? 'conf-model' : 'conf-model-b', latencyMs: i, success: i % 10 !== 0,
    recordedAt: new Date(Date.UTC(2026, 10, 20, 10, 0, i % 60)).toISOString(),
  }))
  beforeAll(async () => {
    const { status } = await POST(`${R}/ingest`, { decisions: [d1], metrics: [m1, m2, ...bulk] }, router)
    expect(status).toBe(200)
  })

  describe('Part1 §11.1 service and metadata documents', () => {
    test('Part1 §11.1.1, 13.1.1#1, JSON §5: each service root serves its service document', async () => {
      const expected: [string, object, string[]][] = [
        [R, router, ['Agents', 'Models', 'Assignments', 'RoutingDecisions', 'InferenceMetrics']],
        [A, analyst, ['RoutingDecisions', 'InferenceMetrics', 'ModelPerformance', 'AgentModelPairs', 'RoutingStats', 'Summary24h', 'HourlyStats']],
        [D, admin, ['Agents', 'Models', 'Assignments']],
      ]
      for (const [root, user, sets] of expected) {
        const { status, headers, data } = await GET(`${root}/`, user)
        expect(status).toBe(200)
        expect(headers['content-type']).toMatch(/^application\/json/)
        expect(data['@odata.context']).toBe('$metadata')
        const names = data.value.map((e: { name: string; url: string }) => e.name)
        expect(names).toEqual(expect.arrayContaining(sets))
        for (const entry of data.value) expect(entry).toEqual(expect.objectContaining({ name: expect.any(String), url: expect.any(String) }))
      }
    })

    test('Part1 §11.1.2, 13.1.1#13, 13.1.2#8: $metadata is CSDL XML by default', async () => {
      for (const [root, user] of [[R, router], [A, analyst], [D, admin]] as const) {
        const { status, headers, data } = await GET(`${root}/$metadata`, { ...user, ...raw })
        expect(status).toBe(200)
        expect(headers['content-type']).toMatch(/^application\/xml/)
        expect(data).toMatch(/<edmx:Edmx Version="4.0"/)
        expect(data).toMatch(/<EntitySet Name="Agents"|<EntitySet Name="RoutingDecisions"/)
      }
    })

    test('Part1 §11.1.2: $metadata is CSDL JSON on Accept application/json and on $format=json', async () => {
      for (const config of [withHeaders(analyst, { Accept: 'application/json' }), analyst]) {
        const { status, data } = await GET(`${A}/$metadata${config === analyst ? '?$format=json' : ''}`, config)
        expect(status).toBe(200)
        expect(data.$Version).toBe('4.0')
        expect(data.AnalyticsService.ModelPerformance).toBeDefined()
      }
    })

    test('Part1 §8.1.5, 13.1.1#4: every response carries OData-Version 4.0, refusals included', async () => {
      const responses = await Promise.all([
        GET(`${A}/Models?$top=1`, analyst), GET(`${A}/Models('nope')`, analyst), GET(`${A}/`, analyst),
        GET(`${A}/Models`, withHeaders(analyst, { Accept: 'application/xml' })), GET(`${A}/Models`, withHeaders(analyst, { 'OData-MaxVersion': '3.0' })),
        GET(`${A}/InferenceMetrics?$filter=year(model_ID) eq 2024`, analyst), GET(`${A}/Models`),
      ])
      expect(responses.map(r => r.status)).toEqual([200, 404, 200, 406, 400, 400, 401])
      for (const { headers } of responses) expect(headers['odata-version']).toBe('4.0')
    })
  })

  describe('Part1 §8 header fields', () => {
    test('Part1 §8.2.7, 13.1.1#5.2: OData-MaxVersion below 4.0 → 400, a malformed one → 400', async () => {
      for (const version of ['3.0', '2.0', '1', 'four']) {
        const { status, data } = await GET(`${A}/Models`, withHeaders(analyst, { 'OData-MaxVersion': version }))
        expect(status).toBe(400)
        expect(data.error.message).toMatch(/OData-MaxVersion/)
      }
    })

    test('Part1 §8.2.7, §5.1: OData-MaxVersion 4.0 and 4.01 are answered in 4.0', async () => {
      for (const version of ['4.0', '4.01', '5.0']) {
        const { status, headers, data } = await GET(`${A}/Models?$top=1`, withHeaders(analyst, { 'OData-MaxVersion': version }))
        expect(status).toBe(200)
        expect(headers['odata-version']).toBe('4.0')
        expect(data.value).toHaveLength(1)
      }
    })

    test('Part1 §8.1.5: a request in OData-Version 3.0 → 400 and nothing stored; 4.0 and 4.01 are understood', async () => {
      const before = await count(`${R}/Agents`)
      const refused = await POST(`${R}/Agents`, { ID: 'v3-agent', name: 'v3' }, withHeaders(router, { 'OData-Version': '3.0' }))
      expect(refused.status).toBe(400)
      expect(refused.data.error.message).toMatch(/OData-Version 3.0/)
      expect(await count(`${R}/Agents`)).toBe(before)
      for (const version of ['4.0', '4.01'])
        expect((await POST(`${R}/Agents`, { ID: `v${version}-agent` }, withHeaders(router, { 'OData-Version': version }))).status).toBe(201)
    })

    test('Part1 §8.2.1, §9.2.3, 13.1.1#5.1: an Accept naming only unsupported formats → 406', async () => {
      for (const accept of ['application/xml', 'text/csv', 'application/atom+xml', 'text/html', 'application/json;odata=verbose', 'application/json;odata.metadata=full;foo=bar', 'application/json;q=0']) {
        const { status, data } = await GET(`${A}/Models`, withHeaders(analyst, { Accept: accept }))
        expect([accept, status]).toEqual([accept, 406])
        expect(data.error.message).toMatch(/application\/json/)
      }
      expect((await GET(`${A}/$metadata`, withHeaders(analyst, { Accept: 'text/csv' }))).status).toBe(406)
    })

    test('Part1 §8.2.1, JSON §3: JSON with its format parameters, wildcards and browser Accepts are served', async () => {
      for (const accept of ['application/json', 'application/json;odata.metadata=minimal;IEEE754Compatible=true', 'application/json;metadata=none',
        'application/json;odata.streaming=true;charset=utf-8', '*/*', 'application/*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'application/xml, application/json;q=0.5']) {
        const { status, headers } = await GET(`${A}/Models?$top=1`, withHeaders(analyst, { Accept: accept }))
        expect([accept, status]).toEqual([accept, 200])
        expect(headers['content-type']).toMatch(/^application\/json/)
      }
      expect((await GET(`${A}/Models/$count`, withHeaders(analyst, { Accept: 'text/plain' }))).status).toBe(200)
      expect((await GET(`${A}/$metadata`, withHeaders(analyst, { Accept: 'application/xml' }))).status).toBe(200)
    })

    test('Part1 §7, §11.2.6: $format=json is served, $format=xml → 406, $format wins over Accept', async () => {
      expect((await GET(`${A}/Models?$top=1&$format=json`, analyst)).status).toBe(200)
      expect((await GET(`${A}/Models?$top=1&$format=application/json;odata.metadata=minimal`, analyst)).status).toBe(200)
      expect((await GET(`${A}/Models?$top=1&$format=xml`, analyst)).status).toBe(406)
      expect((await GET(`${A}/Models?$top=1&$format=json`, withHeaders(analyst, { Accept: 'application/xml' }))).status).toBe(200)
    })

    test('JSON §3.1.2, §4.5.8, §4.5.11, §24#14: metadata=full adds ids, navigation links and primitive types', async () => {
      const full = withHeaders(analyst, { Accept: 'application/json;odata.metadata=full' })
      const model = await GET(`${A}/Models('gpt-4o')`, full)
      expect(model.status).toBe(200)
      expect(model.data).toMatchObject({ '@odata.id': "Models('gpt-4o')", 'inputPricePer1M@odata.type': '#Decimal' })
      const { data } = await GET(`${A}/RoutingDecisions(${d1.ID})?$expand=candidates`, full)
      expect(data).toMatchObject({ '@odata.id': `RoutingDecisions(${d1.ID})`, 'ID@odata.type': '#Guid', 'decidedAt@odata.type': '#DateTimeOffset', 'model@odata.navigationLink': `RoutingDecisions(${d1.ID})/model` })
      expect(data.candidates[0]['@odata.id']).toBe(`DecisionCandidates(decision_ID=${d1.ID},rank=1)`)
      expect(Object.keys(data).indexOf('ID@odata.type')).toBe(Object.keys(data).indexOf('ID') - 1)
      for (const id of [model.data['@odata.id'], data.candidates[0]['@odata.id']])
        expect((await GET(resolve(id, `${A}/$metadata`), analyst)).status).toBe(200)
      const viaFormat = await GET(`${A}/Models?$top=1&$format=application/json;odata.metadata=full`, analyst)
      expect(viaFormat.data.value[0]['@odata.id']).toMatch(/^Models\('.+'\)$/)
    })

    test('Part1 §8.2.6: Isolation: snapshot (or OData-Isolation) → 412 and nothing processed', async () => {
      const before = await count(`${R}/Agents`)
      for (const header of ['Isolation', 'OData-Isolation']) {
        expect((await GET(`${A}/Models`, withHeaders(analyst, { [header]: 'snapshot' }))).status).toBe(412)
        expect((await POST(`${R}/Agents`, { ID: `isolated-${header}` }, withHeaders(router, { [header]: 'snapshot' }))).status).toBe(412)
      }
      expect(await count(`${R}/Agents`)).toBe(before)
    })

    test('Part1 §8.2.8, 13.1.1#6: unknown or unsupported preferences are ignored', async () => {
      for (const prefer of ['foo=bar', 'odata.track-changes', 'respond-async', 'odata.maxpagesize=2, wait=10']) {
        const { status, data } = await GET(`${A}/Models`, withHeaders(analyst, { Prefer: prefer }))
        expect([prefer, status]).toEqual([prefer, 200])
        expect(data.value.length).toBeGreaterThanOrEqual(12)
      }
    })

    test('Part1 §8.2.8.7: return=minimal or return=representation on GET and DELETE has no effect', async () => {
      for (const prefer of ['return=minimal', 'return=representation']) {
        const { status, data } = await GET(`${A}/Models('gpt-4o')`, withHeaders(analyst, { Prefer: prefer }))
        expect([prefer, status, data.ID]).toEqual([prefer, 200, 'gpt-4o'])
      }
      await POST(`${D}/Agents`, { ID: 'to-delete-minimal', ...active }, admin)
      expect((await DELETE(`${D}/Agents('to-delete-minimal')`, withHeaders(admin, { Prefer: 'return=minimal' }))).status).toBe(204)
    })

    test('Part1 §8.2.8.7, §11.4.2, §8.3.4, 13.1.1#28: POST with return=minimal → 204 with Location and OData-EntityId', async () => {
      const { status, headers, data } = await POST(`${R}/Agents`, { ID: 'minimal-agent' }, { ...withHeaders(router, { Prefer: 'return=minimal' }), ...raw })
      expect(status).toBe(204)
      expect(data).toBeFalsy()
      expect(headers.location).toBe("Agents('minimal-agent')")
      expect(headers['odata-entityid']).toBe(headers.location)
      expect((await GET(resolve(headers.location, `${R}/Agents`), router)).data.ID).toBe('minimal-agent')
    })

    test('Part1 §8.1.1: a body whose Content-Type is no JSON → 415, nothing stored', async () => {
      const before = await count(`${R}/Agents`)
      const { status, data } = await POST(`${R}/Agents`, 'ID=form-agent', withHeaders(router, { 'Content-Type': 'application/x-www-form-urlencoded' }))
      expect(status).toBe(415)
      expect(data.error.code).toBeTruthy()
      expect(await count(`${R}/Agents`)).toBe(before)
    })

    test('Part1 §8.3.2, JSON §4.5.10: an entity with an ETag carries it in the ETag header and as @odata.etag', async () => {
      const { data: { value: [assignment] } } = await GET(`${R}/Assignments?$top=1`, router)
      expect(assignment['@odata.etag']).toMatch(/^W\/".+"$/)
      const { headers, data } = await GET(`${R}/Assignments(${assignment.ID})`, router)
      expect(headers.etag).toBe(data['@odata.etag'])
    })

    test('Part1 §8.2.5, §9.1.6: If-None-Match with the current ETag on GET → 304, another ETag → 200', async () => {
      const { data: { value: [assignment] } } = await GET(`${R}/Assignments?$top=1`, router)
      const url = `${R}/Assignments(${assignment.ID})`
      const { headers: { etag } } = await GET(url, router)
      expect((await GET(url, withHeaders(router, { 'If-None-Match': etag }))).status).toBe(304)
      expect((await GET(url, withHeaders(router, { 'If-None-Match': 'W/"other"' }))).status).toBe(200)
    })
  })

  describe('Part1 §11.2 requesting data', () => {
    test('Part1 §11.2.2, §9.4, 13.1.1#2, 13.1.2#9, JSON §21.1: an entity by key; an unknown key → 404 with an error body', async () => {
      const { status, data } = await GET(`${A}/Models('gpt-4o')`, analyst)
      expect(status).toBe(200)
      expect(data).toMatchObject({ '@odata.context': '$metadata#Models/$entity', ID: 'gpt-4o', provider: 'OpenAI' })
      const missing = await GET(`${A}/Models('no-such-model')`, analyst)
      expect(missing.status).toBe(404)
      expect(missing.data.error).toEqual(expect.objectContaining({ code: expect.stringMatching(/.+/), message: expect.stringMatching(/.+/) }))
    })

    test('Part1 §11.2.4, §11.2.4.1, 13.1.2#6: a property, its raw $value, and 204 for a null one', async () => {
      expect((await GET(`${A}/Models('gpt-4o')/provider`, analyst)).data.value).toBe('OpenAI')
      const value = await GET(`${A}/Models('gpt-4o')/provider/$value`, { ...analyst, ...raw })
      expect([value.status, value.headers['content-type'], value.data]).toEqual([200, expect.stringMatching(/^text\/plain/), 'OpenAI'])
      expect((await GET(`${A}/InferenceMetrics(${m2.ID})/errorCode`, analyst)).status).toBe(204)
    })

    test('Part1 §11.2.5.1, 13.1.2#3: $select returns the selected properties', async () => {
      const { data } = await GET(`${A}/Models?$select=provider&$filter=ID eq 'gpt-4o'`, analyst)
      expect(data['@odata.context']).toMatch(/Models\(provider(,ID)?\)|Models/)
      expect(Object.keys(data.value[0]).filter(k => !k.startsWith('@')).sort()).toEqual(['ID', 'provider'])
    })

    test('Part1 §11.2.5.2, §11.2.5.2.1, 13.1.1#12, 13.1.2#14, #7.5: $expand with nested $filter, $orderby, $select and $top', async () => {
      const { status, data } = await GET(`${A}/RoutingDecisions(${d1.ID})?$expand=candidates($filter=rank gt 1;$orderby=rank desc;$select=rank,model_ID;$top=1),model($select=provider)`, analyst)
      expect(status).toBe(200)
      expect(data.candidates).toEqual([expect.objectContaining({ rank: 3, model_ID: 'gpt-4o-mini' })])
      expect(data.model.provider).toBe('OpenAI')
    })

    test('Part2 §5.1.3.1: $expand with $skip and no $top returns the remaining rows (was 500)', async () => {
      const { status, data } = await GET(`${A}/RoutingDecisions(${d1.ID})?$expand=candidates($orderby=rank;$skip=1)`, analyst)
      expect(status).toBe(200)
      expect(data.candidates.map((c: { rank: number }) => c.rank)).toEqual([2, 3])
      const nested = await GET(`${A}/InferenceMetrics(${m1.ID})?$expand=decision($expand=candidates($skip=2))`, analyst)
      expect(nested.status).toBe(200)
      expect(nested.data.decision.candidates).toHaveLength(1)
    })

    test('Part1 §11.2.6.1, 13.1.2#7.1, #7.3: $filter with eq, ne, gt, le, and, or, not', async () => {
      const ids = async (filter: string) => (await GET(`${A}/Models?$select=ID&$orderby=ID&$filter=${filter}`, analyst)).data.value.map((m: { ID: string }) => m.ID)
      expect(await ids(`provider eq 'Anthropic'`)).toEqual(['claude-3-5-haiku', 'claude-3-5-sonnet'])
      expect(await ids(`provider ne 'OpenAI' and inputPricePer1M gt 2.9 and inputPricePer1M le 3`)).toEqual(['claude-3-5-sonnet'])
      expect(await ids(`ID eq 'gpt-4o' or not (provider ne 'Anthropic')`)).toEqual(['claude-3-5-haiku', 'claude-3-5-sonnet', 'gpt-4o'])
    })

    test('Part1 §11.2.6.1.3, 13.1.2#7.2: parameter aliases in $filter', async () => {
      const { status, data } = await GET(`${A}/Models?$filter=provider eq @p&@p='Anthropic'&$select=ID`, analyst)
      expect(status).toBe(200)
      expect(data.value).toHaveLength(2)
    })

    test('Part1 §11.2.6.1.2, 13.1.2#7.4: canonical functions contains, startswith, tolower, year', async () => {
      const ids = async (filter: string) => (await GET(`${A}/Models?$select=ID&$orderby=ID&$filter=${filter}`, analyst)).data.value.map((m: { ID: string }) => m.ID)
      expect(await ids(`contains(ID,'4o')`)).toEqual(['gpt-4o', 'gpt-4o-mini'])
      expect(await ids(`startswith(ID,'claude') and tolower(provider) eq 'anthropic'`)).toEqual(['claude-3-5-haiku', 'claude-3-5-sonnet'])
      const { data } = await GET(`${A}/InferenceMetrics/$count?$filter=year(recordedAt) eq 2026 and model_ID eq 'conf-model'`, analyst)
      expect(Number(data)).toBe(500)
    })

    test('Part2 §5.1.1.8.14, Part1 13.1.2#7.4: a date function on a string property → 400 naming function and property (was 500)', async () => {
      for (const [option, value] of [['$filter', 'year(model_ID) eq 2024'], ['$filter', 'month(agent_ID) eq 1'], ['$orderby', 'round(model_ID)'], ['$apply', 'filter(day(errorCode) eq 1)']]) {
        const { status, data } = await GET(`${A}/InferenceMetrics?${option}=${value}`, analyst)
        expect(status).toBe(400)
        expect(data.error.message).toMatch(new RegExp(`${value.match(/(\w+)\((\w+)\)/)!.slice(1).join('.*')}`))
        expect(data.error.target).toBe(option)
      }
    })

    test('Part2 §5.1.1.13, Part1 13.1.2#15: lambda operators any and all', async () => {
      const ids = async (filter: string) => (await GET(`${A}/RoutingDecisions?$select=ID&$filter=${filter}`, analyst)).data.value.map((d: { ID: string }) => d.ID)
      expect(await ids(`candidates/any(c:c/model_ID eq 'o3-mini' and c/rank eq 2)`)).toContain(d1.ID)
      expect(await ids(`candidates/all(c:c/rank le 3)`)).toContain(d1.ID)
      expect(await ids(`candidates/any(c:c/rank gt 3)`)).not.toContain(d1.ID)
    })

    test('Part2 §5.1.1.1.11, Part1 13.2.2#4: the in operator', async () => {
      const { data } = await GET(`${A}/Models?$filter=ID in ('gpt-4o','o3-mini','nope')&$select=ID&$orderby=ID`, analyst)
      expect(data.value.map((m: { ID: string }) => m.ID)).toEqual(['gpt-4o', 'o3-mini'])
    })

    test('Part1 13.2.2#3: eq null and ne null on a to-one navigation property (was 500)', async () => {
      const ids = async (filter: string) => (await GET(`${A}/InferenceMetrics?$select=ID&$top=1000&$filter=agent_ID eq 'support-bot' and ${filter}`, analyst)).data.value.map((m: { ID: string }) => m.ID)
      const without = await ids('decision eq null'), withDecision = await ids('decision ne null')
      expect(without).toContain(m2.ID)
      expect(without).not.toContain(m1.ID)
      expect(withDecision).toEqual([m1.ID])
    })

    test('Part1 §11.2.6.1: /$count inside $filter → 501, not 500', async () => {
      const { status, data } = await GET(`${A}/RoutingDecisions?$filter=candidates/$count gt 2`, analyst)
      expect(status).toBe(501)
      expect(data.error.message).toMatch(/\$count/)
    })

    test('Part1 §11.2.6.2, 13.1.2#17: $orderby asc and desc on properties', async () => {
      const prices = async (order: string) => (await GET(`${A}/Models?$select=ID,inputPricePer1M&$orderby=${order}`, analyst)).data.value.map((m: { inputPricePer1M: string }) => Number(m.inputPricePer1M))
      const ascending = await prices('inputPricePer1M asc,ID'), descending = await prices('inputPricePer1M desc,ID')
      expect(ascending).toEqual([...ascending].sort((a, b) => a - b))
      expect(descending).toEqual([...ascending].reverse())
    })

    test('Part1 §11.2.6.3, §11.2.6.4, 13.1.2#5, #12: $skip is applied before $top, in a stable order', async () => {
      const all = (await GET(`${A}/Models?$select=ID`, analyst)).data.value.map((m: { ID: string }) => m.ID)
      const page = (await GET(`${A}/Models?$top=3&$skip=2&$select=ID`, analyst)).data.value.map((m: { ID: string }) => m.ID)
      expect(page).toEqual(all.slice(2, 5))
      expect((await GET(`${A}/Models?$top=0`, analyst)).data.value).toEqual([])
    })

    test('Part1 §11.2.6.5, 13.1.2#13, JSON §4.5.4: $count=true counts all matches; another value → 400', async () => {
      const { data } = await GET(`${A}/InferenceMetrics?$count=true&$top=2&$filter=model_ID eq 'conf-model'&$select=ID`, analyst)
      expect(data['@odata.count']).toBe(500)
      expect(data.value).toHaveLength(2)
      expect((await GET(`${A}/Models?$count=maybe`, analyst)).status).toBe(400)
    })

    test('Part1 §11.2.10, 13.1.2#16: /$count on an entity set and a navigation property', async () => {
      const models = await GET(`${A}/Models/$count`, { ...analyst, ...raw })
      expect([models.status, models.headers['content-type']]).toEqual([200, expect.stringMatching(/^text\/plain/)])
      expect(Number(models.data)).toBeGreaterThanOrEqual(12)
      expect(Number((await GET(`${A}/RoutingDecisions(${d1.ID})/candidates/$count`, analyst)).data)).toBe(3)
    })

    test('Part1 §11.2.6.6, 13.1.2#11: $search', async () => {
      const { status, data } = await GET(`${A}/Models?$search=Anthropic&$select=ID`, analyst)
      expect(status).toBe(200)
      expect(data.value.map((m: { ID: string }) => m.ID).sort()).toEqual(['claude-3-5-haiku', 'claude-3-5-sonnet'])
    })

    test('Part1 §11.2.6.7, 13.1.1#3, JSON §4.5.5: server-driven paging: 1,000 rows and a next link to the rest', async () => {
      const first = await GET(`${A}/InferenceMetrics?$filter=agent_ID eq 'conf-agent'&$select=ID`, analyst)
      expect(first.data.value).toHaveLength(1000)
      const next = first.data['@odata.nextLink']
      expect(next).toEqual(expect.any(String))
      const second = await GET(resolve(next, `${A}/InferenceMetrics`) + next.slice(next.indexOf('?')), analyst)
      expect(second.status).toBe(200)
      expect(second.data.value).toHaveLength(1)
      expect(second.data['@odata.nextLink']).toBeUndefined()
      const ids = new Set([...first.data.value, ...second.data.value].map((m: { ID: string }) => m.ID))
      expect(ids.size).toBe(1001)
    })

    test('Part1 §11.2.7: related entities: a collection, a single entity, 204 when there is none', async () => {
      const candidates = await GET(`${A}/RoutingDecisions(${d1.ID})/candidates`, analyst)
      expect(candidates.data.value).toHaveLength(3)
      expect((await GET(`${A}/InferenceMetrics(${m1.ID})/decision`, analyst)).data.ID).toBe(d1.ID)
      expect((await GET(`${A}/InferenceMetrics(${m2.ID})/decision`, analyst)).status).toBe(204)
      expect((await GET(`${A}/RoutingDecisions(${d1.ID})/nothing`, analyst)).status).toBe(404)
    })

    test('Part1 §11.2.1, 13.2.1#6, #7: option names case-insensitive with or without $; operators case-insensitive', async () => {
      for (const query of ['$TOP=2&$SELECT=ID', 'top=2&select=ID', '$Top=2&$select=ID&$filter=ID NE \'x\' AND NOT (ID EQ \'y\')', '$top=2&$select=ID&$orderby=ID DESC']) {
        const { status, data } = await GET(`${A}/Models?${query}`, analyst)
        expect([query, status, data.value?.length]).toEqual([query, 200, 2])
        expect(Object.keys(data.value[0])).toEqual(['ID'])
      }
      expect((await GET(`${A}/Models?$filter=contains(ID,'AND') eq false&$top=1`, analyst)).status).toBe(200)
    })

    test('Part1 §11.2.6: the same system query option twice → 400', async () => {
      const { status, data } = await GET(`${A}/Models?$top=1&top=2`, analyst)
      expect(status).toBe(400)
      expect(data.error.message).toMatch(/\$top/)
    })

    test('Part1 §6.1, §11.2.6, 13.1.1#6: an unknown $-option → 400; a custom option without $ is ignored', async () => {
      expect((await GET(`${A}/Models?$bogus=1`, analyst)).status).toBe(400)
      expect((await GET(`${A}/Models?sap-language=en&$top=1`, analyst)).status).toBe(200)
    })

    test('Part1 §11.3, §11.2.6: $deltatoken (delta queries are not supported) → 501', async () => {
      const { status, data } = await GET(`${A}/Models?$deltatoken=abc`, analyst)
      expect(status).toBe(501)
      expect(data.error.message).toMatch(/delta/i)
    })

    test('Part1 13.1.1#7, §9.3.1: the unsupported system resources $crossjoin, $all, $entity → 501', async () => {
      for (const path of ['$crossjoin(Models,Agents)', '$all', `$entity?$id=Models('gpt-4o')`])
        expect([path, (await GET(`${A}/${path}`, analyst)).status]).toEqual([path, 501])
    })

    test('Part1 §11.5.4.1: a function with its parameters returns a collection', async () => {
      const { status, data } = await GET(`${A}/performance(from=2026-11-20T00:00:00Z,to=2026-11-21T00:00:00Z,groupBy='model')`, analyst)
      expect(status).toBe(200)
      expect(data.value.find((r: { model_ID: string }) => r.model_ID === 'conf-model')).toMatchObject({ requests: 500 })
    })

    test('Part1 §11.5.4.1: a function without its parameters → 400', async () => {
      const { status, data } = await GET(`${A}/performance()`, analyst)
      expect(status).toBe(400)
      expect(JSON.stringify(data.error)).toMatch(/from|to|groupBy/)
    })
  })

  describe('Aggregation $apply', () => {
    const apply = (set: string, transformations: string, more = '') => GET(`${A}/${set}?$apply=${encodeURIComponent(transformations)}${more}`, analyst)

    test('Aggregation §3.2.3, §3.2.1: groupby with aggregate: sum, average, countdistinct and $count', async () => {
      const { status, data } = await apply('InferenceMetrics', "filter(agent_ID eq 'conf-agent')/groupby((model_ID),aggregate($count as n,latencyMs with sum as total,latencyMs with average as mean,success with countdistinct as outcomes))")
      expect(status).toBe(200)
      const byModel = Object.fromEntries(data.value.map((r: { model_ID: string }) => [r.model_ID, r]))
      expect(byModel['conf-model']).toMatchObject({ n: 500, total: 250000, mean: 500, outcomes: 1 })
      expect(byModel['conf-model-b']).toMatchObject({ n: 501, total: 250500, outcomes: 2 })
    })

    test('Aggregation §3.3.2, §3.2.1.4: filter, then aggregate $count', async () => {
      const { data } = await apply('InferenceMetrics', "filter(agent_ID eq 'conf-agent' and success eq false)/aggregate($count as failures)")
      expect(data.value).toEqual([expect.objectContaining({ failures: 101 })])
    })

    test('Aggregation §3.3.1.1: topcount and bottomcount, which ApplySupported advertises (were 500)', async () => {
      const top = await apply('InferenceMetrics', "filter(agent_ID eq 'conf-agent')/topcount(2,latencyMs)", '&$select=latencyMs')
      expect(top.status).toBe(200)
      expect(top.data.value.map((m: { latencyMs: number }) => m.latencyMs)).toEqual([1000, 999])
      expect(top.data['@odata.nextLink']).toBeUndefined()
      const bottom = await apply('InferenceMetrics', "filter(agent_ID eq 'conf-agent')/bottomcount(1,latencyMs)", '&$select=latencyMs')
      expect(bottom.data.value.map((m: { latencyMs: number }) => m.latencyMs)).toEqual([0])
      expect((await apply('InferenceMetrics', 'groupby((model_ID),topcount(1,latencyMs))')).status).toBe(501)
    })

    test('Aggregation §3.3.3, §3.3.6, Part1 §11.2.6.7: orderby and top in $apply give no next link past the top', async () => {
      const { status, data } = await apply('InferenceMetrics', "filter(agent_ID eq 'conf-agent')/groupby((model_ID),aggregate($count as n))/orderby(n desc)/top(1)")
      expect(status).toBe(200)
      expect(data.value).toEqual([expect.objectContaining({ model_ID: 'conf-model-b', n: 501 })])
      expect(data['@odata.nextLink']).toBeUndefined()
    })

    test('Aggregation §3.2.1: aggregate(p) of a property that is no custom aggregate → 400 (was 500); a declared one works', async () => {
      const { status, data } = await apply('InferenceMetrics', 'aggregate(latencyMs)')
      expect(status).toBe(400)
      expect(data.error.message).toMatch(/latencyMs.*custom aggregate/)
      const hourly = await apply('HourlyStats', "filter(model_ID eq 'conf-model')/aggregate(requests)")
      expect(hourly.data.value).toEqual([expect.objectContaining({ requests: 500 })])
    })

    test('Aggregation §3.2.3: HourlyStats as a time series with groupby and sum', async () => {
      const { status, data } = await apply('HourlyStats', "filter(agent_ID eq 'conf-agent')/groupby((hour,model_ID),aggregate(requests with sum as requests,failures with sum as failures))")
      expect(status).toBe(200)
      expect(data.value).toEqual(expect.arrayContaining([expect.objectContaining({ hour: '2026-11-20T10:00:00.000Z', model_ID: 'conf-model', requests: 500, failures: 0 })]))
    })
  })

  describe('Part1 §11.4 data modification', () => {
    test('Part1 §11.4.2, §9.1.2, 13.1.1#19, #27: POST → 201 with the entity and a Location that resolves', async () => {
      const { status, headers, data } = await POST(`${R}/Models`, { ID: 'created-model', provider: 'Acme', inputPricePer1M: 1 }, router)
      expect(status).toBe(201)
      expect(data).toMatchObject({ '@odata.context': '$metadata#Models/$entity', ID: 'created-model', provider: 'Acme' })
      const read = await GET(resolve(headers.location, `${R}/Models`), router)
      expect([read.status, read.data.ID]).toEqual([200, 'created-model'])
    })

    test("Part1 §8.3.3, Part2 §2.2, §4.3.1: the Location of a key with a quote doubles it, percent-encodes, and resolves", async () => {
      for (const [ID, location] of [["o'brien", "Agents('o''brien')"], ["d'arcy 100%/x", "Agents('d''arcy%20100%25%2Fx')"]]) {
        const { status, headers } = await POST(`${R}/Agents`, { ID, name: 'quoted' }, router)
        expect(status).toBe(201)
        expect(headers.location).toBe(location)
        const read = await GET(`${R}/${headers.location}`, router)
        expect([read.status, read.data.ID]).toEqual([200, ID])
      }
    })

    test('Part1 §11.4.2: POST of a key that exists → 409, nothing changed', async () => {
      await POST(`${R}/Agents`, { ID: 'twice', name: 'first' }, router)
      const { status, data } = await POST(`${R}/Agents`, { ID: 'twice', name: 'second' }, router)
      expect(status).toBe(409)
      expect(data.error.message).toBeTruthy()
      expect((await GET(`${R}/Agents('twice')`, router)).data.name).toBe('first')
    })

    test('Part1 §11.4.2: a new draft of a key that exists → 409 at once (as Fiori creates), no draft left', async () => {
      for (const [set, ID] of [['Agents', 'support-bot'], ['Models', 'gpt-4o']]) {
        const { status, data } = await POST(`${D}/${set}`, { ID, name: 'again' }, admin)
        expect([set, status, data.error.message]).toEqual([set, 409, expect.stringMatching(/stored already/)])
        expect((await GET(`${D}/${set}(ID='${ID}',IsActiveEntity=false)`, admin)).status).toBe(404)
        expect((await GET(`${D}/${set}('${ID}')`, admin)).data.name).not.toBe('again')
      }
      const fresh = await POST(`${D}/Models`, { ID: 'drafted-model' }, admin)
      expect([fresh.status, fresh.data.IsActiveEntity]).toEqual([201, false])
    })

    test('Part1 §11.4.2.2, 13.1.1#32: a deep insert creates the decision with its candidates', async () => {
      const d = decision()
      const { status, headers } = await POST(`${R}/RoutingDecisions`, d, router)
      expect(status).toBe(201)
      const { data } = await GET(`${resolve(headers.location, `${R}/RoutingDecisions`)}?$expand=candidates`, router)
      expect(data.candidates).toHaveLength(2)
    })

    test('Part1 §11.4.2.2: the 201 of a deep insert is expanded to the level sent', async () => {
      const { status, data } = await POST(`${R}/RoutingDecisions`, decision(), router)
      expect(status).toBe(201)
      expect(data.candidates).toHaveLength(2)
    })

    test('Part1 §11.4.2.2: a deep insert with an invalid candidate stores nothing', async () => {
      const before = await count(`${R}/RoutingDecisions`, router)
      const { status } = await POST(`${R}/RoutingDecisions`, decision({ candidates: [{ model_ID: 'gpt-4o', rank: 1 }, { model_ID: 'o3-mini', rank: 0 }] }), router)
      expect(status).toBe(400)
      expect(await count(`${R}/RoutingDecisions`, router)).toBe(before)
    })

    test('Part1 §11.4.3, 13.1.1#23: PATCH changes only the properties sent', async () => {
      await POST(`${D}/Agents`, { ID: 'patched', name: 'name', description: 'kept', ...active }, admin)
      const { status, data } = await PATCH(`${D}/Agents('patched')`, { name: 'renamed' }, admin)
      expect(status).toBe(200)
      expect(data).toMatchObject({ name: 'renamed', description: 'kept' })
    })

    test('Part1 §11.4.3: PUT replaces the entity: omitted properties get their default or null', async () => {
      await POST(`${D}/Models`, { ID: 'put-model', name: 'n', provider: 'Acme', inputPricePer1M: 5, contextWindow: 1000, ...active }, admin)
      const { status, data } = await PUT(`${D}/Models('put-model')`, { name: 'replaced' }, admin)
      expect(status).toBe(200)
      expect(data).toMatchObject({ name: 'replaced', provider: null, contextWindow: null })
      expect(Number(data.inputPricePer1M)).toBe(0)
    })

    test('Part1 §11.4.4, 13.1.1#29: PUT to a key that does not exist creates it (upsert) → 201', async () => {
      const { status, data } = await PUT(`${D}/Agents(ID='upserted',IsActiveEntity=true)`, { name: 'new' }, admin)
      expect(status).toBe(201)
      expect(data).toMatchObject({ ID: 'upserted', name: 'new' })
      expect((await GET(`${D}/Agents(ID='upserted',IsActiveEntity=true)`, admin)).data).toMatchObject({ ID: 'upserted', name: 'new' })
    })

    test('Part1 §8.2.5, §11.4.4: PUT with If-None-Match: * → 412 on an existing entity, creates a new one', async () => {
      await POST(`${D}/Agents`, { ID: 'exists-inm', name: 'original', ...active }, admin)
      const refused = await PUT(`${D}/Agents('exists-inm')`, { name: 'overwritten' }, withHeaders(admin, { 'If-None-Match': '*' }))
      expect(refused.status).toBe(412)
      expect((await GET(`${D}/Agents('exists-inm')`, admin)).data.name).toBe('original')
      expect((await PUT(`${D}/Agents(ID='new-inm',IsActiveEntity=true)`, { name: 'created' }, withHeaders(admin, { 'If-None-Match': '*' }))).status).toBe(201)
    })

    test('Part1 §8.2.4, §11.4.4: PUT or PATCH with If-Match to a missing entity → 412 or 404, nothing created', async () => {
      expect((await PUT(`${D}/Agents('ghost-put')`, { name: 'x' }, withHeaders(admin, { 'If-Match': '*' }))).status).toBe(412)
      expect([404, 412]).toContain((await PATCH(`${D}/Agents('ghost-patch')`, { name: 'x' }, withHeaders(admin, { 'If-Match': '*' }))).status)
      expect((await GET(`${D}/Agents('ghost-put')`, admin)).status).toBe(404)
      expect((await GET(`${D}/Agents('ghost-patch')`, admin)).status).toBe(404)
    })

    test('Part1 §11.4.5, 13.1.1#24: DELETE → 204 with an empty body, then 404', async () => {
      await POST(`${D}/Agents`, { ID: 'deleted', ...active }, admin)
      const { status, data } = await DELETE(`${D}/Agents('deleted')`, { ...admin, ...raw })
      expect([status, data]).toEqual([204, ''])
      expect((await GET(`${D}/Agents('deleted')`, admin)).status).toBe(404)
      expect((await DELETE(`${D}/Agents('deleted')`, admin)).status).toBe(404)
    })

    test('Part1 §11.4.1.1, §8.2.4, 13.1.1#26: If-Match: none → 428, stale → 412, current → 200 with a new ETag, * → 200', async () => {
      const { data: created } = await POST(`${R}/Assignments`, { agent_ID: 'translator', model_ID: 'o3-mini', strategy: 'greedy' }, router)
      const url = `${R}/Assignments(${created.ID})`
      const { headers: { etag } } = await GET(url, router)
      expect((await PATCH(url, { matchScore: 0.1 }, router)).status).toBe(428)
      expect((await PATCH(url, { matchScore: 0.2 }, withHeaders(router, { 'If-Match': 'W/"stale"' }))).status).toBe(412)
      expect((await GET(url, router)).data.matchScore).toBeNull()
      await new Promise(r => setTimeout(r, 5)) // the ETag is the modification time
      const current = await PATCH(url, { matchScore: 0.3 }, withHeaders(router, { 'If-Match': etag }))
      expect(current.status).toBe(200)
      expect(current.data['@odata.etag']).not.toBe(etag)
      expect((await PATCH(url, { matchScore: 0.4 }, withHeaders(router, { 'If-Match': etag }))).status).toBe(412)
      expect((await PATCH(url, { matchScore: 0.5 }, withHeaders(router, { 'If-Match': '*' }))).status).toBe(200)
    })

    test('Part1 §9.2.2: a method the resource does not allow → 405 with an Allow header', async () => {
      for (const [response, allow] of [
        [await DELETE(`${R}/Agents('support-bot')`, router), 'GET, PATCH, PUT'],
        [await PATCH(`${R}/InferenceMetrics(${m1.ID})`, { latencyMs: 1 }, router), 'GET'],
        [await POST(`${A}/Models`, { ID: 'analyst-model' }, analyst), 'GET'],
      ] as const) expect([response.status, response.headers.allow]).toEqual([405, allow])
    })

    test('Part1 §11.4.2: computed properties sent with a create are ignored; unknown ones → 400', async () => {
      const { status, data } = await POST(`${R}/Agents`, { ID: 'computed-sent', autoRegistered: true, createdBy: 'mallory' }, router)
      expect(status).toBe(201)
      expect(data).toMatchObject({ autoRegistered: false, createdBy: 'router' })
      expect((await POST(`${R}/Agents`, { ID: 'unknown-sent', colour: 'red' }, router)).status).toBe(400)
      expect((await GET(`${R}/Agents('unknown-sent')`, router)).status).toBe(404)
    })

    test('Part1 §11.4.9.1, §11.4.9.2, 13.1.1#30, #31: PUT to a primitive property, DELETE sets it to null', async () => {
      await POST(`${D}/Agents`, { ID: 'property-agent', description: 'old', ...active }, admin)
      expect((await PUT(`${D}/Agents('property-agent')/description`, { value: 'new' }, admin)).data.value).toBe('new')
      expect((await GET(`${D}/Agents('property-agent')`, admin)).data.description).toBe('new')
      expect((await DELETE(`${D}/Agents('property-agent')/description`, admin)).status).toBe(204)
      expect((await GET(`${D}/Agents('property-agent')`, admin)).data.description).toBeNull()
    })

    test('Part1 §11.2.8, §11.4.6, 13.1.1#21, #22, #25: entity references ($ref) are not supported → 501', async () => {
      const { data: { value: [assignment] } } = await GET(`${D}/Assignments?$top=1`, admin)
      const ref = `${D}/Assignments(ID=${assignment.ID},IsActiveEntity=true)/agent/$ref`
      for (const response of [await GET(ref, admin), await PUT(ref, { '@odata.id': "Agents('translator')" }, admin), await DELETE(ref, admin),
        await POST(`${R}/RoutingDecisions(${d1.ID})/candidates/$ref`, { '@odata.id': 'x' }, router)])
        expect(response.status).toBe(501)
    })

    test('Part1 §11.4.2, §9.2: a property of the wrong JSON type → 400 naming it, nothing stored', async () => {
      const before = await count(`${R}/InferenceMetrics`, router)
      for (const [set, body, target] of [
        ['InferenceMetrics', metric({ success: 'yes' }), 'success'],
        ['InferenceMetrics', metric({ inputTokens: '12' }), 'inputTokens'],
        ['Models', { ID: 'typed-model', inputPricePer1M: 'cheap' }, 'inputPricePer1M'],
        ['Agents', { ID: 5 }, 'ID'],
      ] as const) {
        const { status, data } = await POST(`${R}/${set}`, body, router)
        expect([set, target, status]).toEqual([set, target, 400])
        const errors = data.error.details ?? [data.error]
        expect(errors.some((e: { target?: string }) => e.target?.includes(target))).toBe(true)
      }
      expect(await count(`${R}/InferenceMetrics`, router)).toBe(before)
    })

    test('Part1 §11.4.2: an ID that is no UUID → 400 naming ID', async () => {
      const { status, data } = await POST(`${R}/InferenceMetrics`, metric({ ID: 'not-a-uuid' }), router)
      expect(status).toBe(400)
      expect(JSON.stringify(data.error)).toMatch(/ID/)
    })

    test('Part1 §11.5.5.1: ingest with candidates that are no array → 400 naming the target, nothing stored', async () => {
      const d = decision({ candidates: { model_ID: 'gpt-4o', rank: 1 } })
      const { status, data } = await POST(`${R}/ingest`, { decisions: [d], metrics: [] }, router)
      expect(status).toBe(400)
      expect(JSON.stringify(data.error)).toMatch(/candidates/)
      expect((await GET(`${R}/RoutingDecisions(${d.ID})`, router)).status).toBe(404)
    })

    test('Part1 13.2.1#9.4, #9.5: an action without parameters takes no body or {}, with or without namespace', async () => {
      const { data: { value: [assignment] } } = await GET(`${R}/Assignments?$top=1`, router)
      for (const [path, body] of [['RouterService.updateMetrics', undefined], ['RouterService.updateMetrics', {}], ['updateMetrics', {}]] as const) {
        const { status, data } = await POST(`${R}/Assignments(${assignment.ID})/${path}`, body, router)
        expect([path, status, data.ID]).toEqual([path, 200, assignment.ID])
      }
    })

    test('Part1 13.2.1#9.6, §11.2.6.1.3: parameter aliases for key values and function parameters', async () => {
      expect((await GET(`${A}/Models(@k)?@k='gpt-4o'`, analyst)).data.ID).toBe('gpt-4o')
      const { status, data } = await GET(`${A}/performance(from=@f,to=@t,groupBy=@g)?@f=2026-11-20T00:00:00Z&@t=2026-11-21T00:00:00Z&@g='none'`, analyst)
      expect(status).toBe(200)
      expect(data.value).toHaveLength(1)
    })

    test('Part1 §11.5.5.1: the unbound action ingest and the bound action updateMetrics', async () => {
      const m = metric({ agent_ID: 'support-bot', model_ID: 'gpt-4o-mini' })
      const ingested = await POST(`${R}/ingest`, { metrics: [m] }, router)
      expect([ingested.status, ingested.data.metrics]).toEqual([200, { accepted: 1, duplicates: 0 }])
      const { data: { value: [assignment] } } = await GET(`${R}/Assignments?$filter=agent_ID eq 'support-bot' and model_ID eq 'gpt-4o-mini'`, router)
      const updated = await POST(`${R}/Assignments(${assignment.ID})/RouterService.updateMetrics`, {}, router)
      expect(updated.status).toBe(200)
      expect(Number(updated.data.totalRequests)).toBeGreaterThanOrEqual(1)
    })
  })

  describe('Part1 §11.7 $batch', () => {
    const json = (requests: object[], headers: Record<string, string> = {}, root = R, user = router) =>
      POST(`${root}/$batch`, { requests }, withHeaders(user, { 'Content-Type': 'application/json', ...headers }))
    const multipart = (body: string, headers: Record<string, string> = {}, boundary = 'batch_1') =>
      POST(`${R}/$batch`, body, { ...withHeaders(router, { 'Content-Type': `multipart/mixed; boundary=${boundary}`, ...headers }), ...raw })
    const request = (line: string, body?: object, headers = '') =>
      `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${line} HTTP/1.1\r\n${headers}${body ? `Content-Type: application/json\r\n\r\n${JSON.stringify(body)}` : '\r\n'}\r\n`
    const changeSet = (parts: string[], boundary = 'changeset_1') => `Content-Type: multipart/mixed; boundary=${boundary}\r\n\r\n` +
      parts.map((p, i) => `--${boundary}\r\n${p.replace('\r\n\r\n', `\r\nContent-ID: ${i + 1}\r\n\r\n`)}`).join('') + `--${boundary}--\r\n`
    const batchOf = (parts: string[], boundary = 'batch_1') => parts.map(p => `--${boundary}\r\n${p}`).join('') + `--${boundary}--\r\n`
    const statuses = (body: string) => [...body.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map(m => Number(m[1]))

    test('Part1 §11.7.1: a batch with another Content-Type, or without boundary → 4xx', async () => {
      expect([400, 415]).toContain((await POST(`${R}/$batch`, 'GET Agents', withHeaders(router, { 'Content-Type': 'text/plain' }))).status)
      expect((await POST(`${R}/$batch`, batchOf([request('GET Agents')]), withHeaders(router, { 'Content-Type': 'multipart/mixed' }))).status).toBe(400)
    })

    test('Part1 §11.7.7.1: a multipart body whose boundary differs from the Content-Type → 400, nothing executed', async () => {
      const body = batchOf([changeSet([request('POST Agents', { ID: 'wrong-boundary' })])], 'other_boundary')
      const { status, data } = await multipart(body)
      expect(status).toBe(400)
      expect(String(data)).toMatch(/boundary/)
      expect((await GET(`${R}/Agents('wrong-boundary')`, router)).status).toBe(404)
    })

    test('Part1 §11.7.7.1: a multipart body without its closing delimiter, or with a part of another type → 400', async () => {
      const unclosed = `--batch_1\r\n${request('POST Agents', { ID: 'unclosed' })}`
      expect((await multipart(unclosed)).status).toBe(400)
      const textPart = batchOf(['Content-Type: text/plain\r\n\r\nGET Agents HTTP/1.1\r\n\r\n'])
      expect((await multipart(textPart)).status).toBe(400)
      const badChangeSet = batchOf([changeSet([request('POST Agents', { ID: 'bad-cs' })]).replace('--changeset_1--', '--changeset_2--')])
      expect((await multipart(badChangeSet)).status).toBe(400)
      expect((await GET(`${R}/Agents('unclosed')`, router)).status).toBe(404)
      expect((await GET(`${R}/Agents('bad-cs')`, router)).status).toBe(404)
    })

    test('Part1 §11.7.7.1: request URLs relative, as absolute path and as absolute URL', async () => {
      const { status, data } = await multipart(batchOf([
        request("GET Agents('support-bot')"), request("GET /odata/v4/router/Agents('support-bot')"),
        request("GET http://localhost:4004/odata/v4/router/Agents('support-bot')"), request('GET /odata/v4/router/Models/$count'),
      ]))
      expect(status).toBe(200)
      expect(statuses(data)).toEqual([200, 200, 200, 200])
      expect(data.match(/"ID":"support-bot"/g)).toHaveLength(3)
    })

    test('JSON §19.1: request URLs relative and as absolute path (as the SAP Cloud SDK sends them); other services stay out', async () => {
      const { status, data } = await json([
        { id: '1', method: 'GET', url: "Agents('support-bot')" },
        { id: '2', method: 'GET', url: "/odata/v4/router/Agents('support-bot')" },
        { id: '3', method: 'GET', url: "http://localhost/odata/v4/router/Agents('support-bot')?$select=name" },
        { id: '4', method: 'GET', url: '/odata/v4/admin/Agents' },
      ])
      expect(status).toBe(200)
      expect(data.responses.map((r: { status: number }) => r.status)).toEqual([200, 200, 200, 404])
      expect(data.responses[2].body).toMatchObject({ name: 'Support Bot' })
    })

    test('Part1 §11.7.7.4, §11.7.7.5: a failing change set stores nothing and is answered by one error', async () => {
      const { status, data } = await multipart(batchOf([
        changeSet([request('POST Agents', { ID: 'cs-first' }), request('POST Agents', { ID: 'cs-second', bogus: 1 })]),
      ]))
      expect(status).toBe(200)
      expect(statuses(data)).toEqual([400])
      expect(data).not.toMatch(/HTTP\/1\.1 201/)
      expect((await GET(`${R}/Agents('cs-first')`, router)).status).toBe(404)
    })

    test('Part1 §11.7.7.4: multipart processing stops at the first error without continue-on-error', async () => {
      const { data } = await multipart(batchOf([request('GET Nowhere'), changeSet([request('POST Agents', { ID: 'after-stop' })])]))
      expect(statuses(data)).toEqual([404])
      expect((await GET(`${R}/Agents('after-stop')`, router)).status).toBe(404)
    })

    test('Part1 §11.7.7.4, §8.2.8.3, 13.1.1#14, 13.2.1#4: continue-on-error, with or without the odata. prefix, processes the rest', async () => {
      for (const prefer of ['odata.continue-on-error', 'continue-on-error']) {
        const ID = `after-${prefer}`
        const { data } = await multipart(batchOf([
          changeSet([request('POST Agents', { ID: `${ID}-bad`, bogus: 1 })]), request('GET Agents?$top=1'), changeSet([request('POST Agents', { ID })]),
        ]), { Prefer: prefer })
        expect([prefer, statuses(data)]).toEqual([prefer, [400, 200, 201]])
        expect((await GET(`${R}/Agents('${ID}')`, router)).status).toBe(200)
      }
    })

    test('Part1 §11.7.1: the response format follows Accept, else the request format', async () => {
      const body = batchOf([changeSet([request('POST Agents', { ID: 'accept-json' })]), request('GET Agents?$top=1')])
      const asMultipart = await multipart(body)
      expect(asMultipart.headers['content-type']).toMatch(/^multipart\/mixed;\s*boundary=\S+/)
      const asJson = await POST(`${R}/$batch`, body.replace('accept-json', 'accept-json-2'), withHeaders(router, { 'Content-Type': 'multipart/mixed; boundary=batch_1', Accept: 'application/json' }))
      expect(asJson.headers['content-type']).toMatch(/^application\/json/)
      expect(asJson.data.responses.map((r: { status: number }) => r.status)).toEqual([201, 200])
      expect(asJson.data.responses[0].atomicityGroup).toBeTruthy()
      const jsonBatch = [{ id: '1', method: 'GET', url: 'Agents?$top=1' }]
      expect((await json(jsonBatch)).headers['content-type']).toMatch(/^application\/json/)
      expect((await json(jsonBatch, { Accept: 'multipart/mixed, application/json' })).data.responses[0].status).toBe(200)
      expect((await json(jsonBatch, { Accept: 'multipart/mixed' })).status).toBe(406)
    })

    test('Part1 §11.7.7.1, RFC 2046: sibling change sets may use the same boundary', async () => {
      const { status, data } = await multipart(batchOf([changeSet([request('POST Agents', { ID: 'same-boundary-1' })]), changeSet([request('POST Agents', { ID: 'same-boundary-2' })])]))
      expect(status).toBe(200)
      expect(statuses(data)).toEqual([201, 201])
    })

    test('JSON §19.4, §19.5: a failing atomicity group reports failure for all members and stores nothing; the other requests run', async () => {
      const before = await count(`${R}/InferenceMetrics`, router)
      const good = metric(), bad = metric({ latencyMs: -1 })
      const { status, data } = await json([
        { id: 'm1', method: 'POST', url: 'InferenceMetrics', atomicityGroup: 'g1', body: good },
        { id: 'a1', method: 'POST', url: 'Agents', atomicityGroup: 'g1', body: { ID: 'group-agent' } },
        { id: 'm2', method: 'POST', url: 'InferenceMetrics', atomicityGroup: 'g1', body: bad },
        { id: 'r1', method: 'GET', url: 'Agents?$top=1' },
        { id: 'a2', method: 'POST', url: 'Agents', body: { ID: 'outside-group' } },
      ])
      expect(status).toBe(200)
      const byId = Object.fromEntries(data.responses.map((r: { id: string; status: number }) => [r.id, r.status]))
      for (const id of ['m1', 'a1', 'm2']) expect([id, byId[id] >= 400]).toEqual([id, true])
      expect(byId.m2).toBe(400)
      expect([byId.r1, byId.a2]).toEqual([200, 201])
      expect(await count(`${R}/InferenceMetrics`, router)).toBe(before)
      expect((await GET(`${R}/Agents('group-agent')`, router)).status).toBe(404)
      expect((await GET(`${R}/InferenceMetrics(${good.ID})`, router)).status).toBe(404)
    })

    test('JSON §19.4: continue-on-error=false stops processing after the first failure', async () => {
      for (const prefer of ['odata.continue-on-error=false', 'continue-on-error=false']) {
        const ID = `not-after-${prefer}`
        const { data } = await json([
          { id: '1', method: 'POST', url: 'Agents', body: { ID: `${ID}-bad`, bogus: 1 } },
          { id: '2', method: 'POST', url: 'Agents', body: { ID } },
        ], { Prefer: prefer })
        expect(data.responses[0].status).toBe(400)
        expect(data.responses.find((r: { id: string }) => r.id === '2')?.status ?? 'omitted').not.toBe(201)
        expect((await GET(`${R}/Agents('${ID}')`, router)).status).toBe(404)
      }
    })

    test('JSON §19.1, Part1 §11.7.4, §9.2.6: dependsOn with a $-reference; a failed dependency → 424', async () => {
      const { data } = await json([
        { id: '1', method: 'POST', url: 'Agents', body: { ID: 'referenced', name: 'first' } },
        { id: '2', method: 'PATCH', url: '$1', dependsOn: ['1'], body: { name: 'patched' } },
        { id: '3', method: 'POST', url: 'Agents', body: { ID: 'broken', bogus: 1 } },
        { id: '4', method: 'PATCH', url: '$3', dependsOn: ['3'], body: { name: 'never' } },
      ])
      expect(data.responses.map((r: { status: number }) => r.status)).toEqual([201, 200, 400, 424])
      expect((await GET(`${R}/Agents('referenced')`, router)).data.name).toBe('patched')
    })

    test('Part1 §11.7.7.2, §11.7.7.5: a change set references a new entity by Content-ID; responses echo Content-ID', async () => {
      const { data } = await multipart(batchOf([changeSet([
        request('POST Agents', { ID: 'cs-referenced', name: 'first' }), request('PATCH $1', { name: 'patched' }),
      ])]))
      expect(statuses(data)).toEqual([201, 200])
      expect(data.match(/^content-id: (\d)/gim)).toEqual(['content-id: 1', 'content-id: 2'])
      expect((await GET(`${R}/Agents('cs-referenced')`, router)).data.name).toBe('patched')
    })

    test('Part1 §8.3.3, §11.7.7.5, JSON §19.5: Location headers inside batch responses resolve (quote in the key)', async () => {
      const { data } = await json([{ id: '1', method: 'POST', url: 'Agents', body: { ID: "batch'quote" } }])
      expect(data.responses[0].headers.location).toBe("Agents('batch''quote')")
      const multi = await multipart(batchOf([changeSet([request('POST Agents', { ID: "multi'quote" })])]))
      expect(multi.data).toMatch(/^location: Agents\('multi''quote'\)\r?$/m)
      for (const location of ["Agents('batch''quote')", "Agents('multi''quote')"])
        expect((await GET(`${R}/${location}`, router)).status).toBe(200)
    })

    test('Part1 §11.7.7.4, §11.4: several writes of one model in one change set are all counted', async () => {
      const model_ID = `batch-model-${Date.now()}`
      const { data } = await json([1, 2, 3].map(i => ({ id: `m${i}`, method: 'POST', url: 'InferenceMetrics', atomicityGroup: 'g', body: metric({ model_ID, latencyMs: 100 * i }) })))
      expect(data.responses.map((r: { status: number }) => r.status)).toEqual([201, 201, 201])
      const { data: performance } = await GET(`${A}/ModelPerformance('${model_ID}')`, analyst)
      expect([Number(performance.requests), Number(performance.successes)]).toEqual([3, 3])
    })
  })

  test('Part1 13.1.1#7, 13.1.2#2: unsupported functionality answers 4xx or 501, never 5xx', async () => {
    const urls = [
      `${A}/Models?$levels=2`, `${A}/RoutingDecisions?$expand=candidates($levels=2)`, `${A}/Models?$compute=inputPricePer1M mul 2 as x`,
      `${A}/Models?$filter=inputPricePer1M divby 2 gt 1`, `${A}/Models?$filter=case(inputPricePer1M gt 1:true,true:false)`,
      `${A}/RoutingDecisions?$select=ID,candidates($select=rank)`, `${A}/RoutingDecisions?$orderby=candidates/$count`,
      `${A}/RoutingDecisions?$expand=candidates/$ref`, `${A}/Models?$schemaversion=1`, `${A}/Models?$index=1`,
      `${A}/InferenceMetrics?$apply=compute(latencyMs mul 2 as x)`, `${A}/InferenceMetrics?$apply=topsum(100,latencyMs)`,
      `${A}/InferenceMetrics?$apply=groupby((model_ID),aggregate(latencyMs))`, `${A}/Models?$filter=length(inputPricePer1M) eq 1`,
      `${A}/Models?$filter=hassubset(ID,ID)`, `${A}/Models?$search=NOT (a OR b)`, `${A}/Models('gpt-4o')/$value`,
      `${A}/RoutingDecisions(${d1.ID})/candidates(rank=1)`, `${A}/Models?$skiptoken=abc`,
    ]
    for (const url of urls) {
      const { status } = await GET(url, analyst)
      expect([url, status < 500 || status === 501]).toEqual([url, true])
    }
  })
})
