import cds from '@sap/cds'
import type { Application, Request, Response, NextFunction } from 'express'

/**
 * Headers every response carries. The Fiori apps load their scripts and styles from this origin
 * (and UI5 sets inline styles), so no script or style policy here, only who may frame us.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'SAMEORIGIN',
  'Content-Security-Policy': "frame-ancestors 'self'",
  'Referrer-Policy': 'same-origin',
}

/** Browsers keep to HTTPS for a year; only in production, where BTP terminates TLS in front of us. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains'

export function installSecurityHeaders(app: Application) {
  const headers = cds.env.profiles.includes('production')
    ? { ...SECURITY_HEADERS, 'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY }
    : SECURITY_HEADERS
  app.disable('x-powered-by')
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(headers)
    next()
  })
}
