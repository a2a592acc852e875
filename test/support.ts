import cds from '@sap/cds'
import path from 'node:path'
import { randomUUID } from 'node:crypto'

export const root = path.resolve(__dirname, '..')

/** Starts the gateway in-process on an in-memory database; statuses are asserted, never thrown. */
export function launch() {
  const test = cds.test(root)
  test.axios.defaults.validateStatus = () => true
  return test
}

export const as = (user: 'router' | 'analyst' | 'admin' | 'nobody') => ({ auth: { username: user, password: user } })

export const router = as('router'), analyst = as('analyst'), admin = as('admin')

export const uuid = () => randomUUID()

/** A valid inference metric; pass what a test cares about. */
export const metric = (o: Record<string, unknown> = {}) => ({
  ID: uuid(), agent_ID: 'support-bot', model_ID: 'gpt-4o', latencyMs: 420, inputTokens: 1000, outputTokens: 200,
  success: true, recordedAt: '2026-11-20T10:15:00.000Z', ...o,
})

/** A valid routing decision with two candidates; pass what a test cares about. */
export const decision = (o: Record<string, unknown> = {}) => ({
  ID: uuid(), requestId: 'req-1', agent_ID: 'support-bot', model_ID: 'gpt-4o', strategy: 'balanced', score: 0.8,
  fallback: false, decidedAt: '2026-11-20T10:14:59.000Z',
  candidates: [{ model_ID: 'gpt-4o', score: 0.8, rank: 1 }, { model_ID: 'gpt-4o-mini', score: 0.7, rank: 2 }], ...o,
})
