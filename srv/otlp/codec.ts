import path from 'node:path'
import protobuf from 'protobufjs'

/**
 * OTLP/HTTP's two encodings of trace exports, decoded with protobuf.js from the official definitions
 * (./proto): binary protobuf (`application/x-protobuf`) and OTLP/JSON (`application/json`: the
 * protobuf JSON mapping with lowerCamelCase keys, hex trace and span IDs, enums as integers, 64-bit
 * integers as strings or numbers). Both decode to the same spans; answers go out in the request's
 * encoding. Imports no CAP.
 */

export type Encoding = 'protobuf' | 'json'
export type AttributeValue = string | number | boolean | AttributeValue[] | undefined

/** A span's or resource's attributes, each value decoded when asked for. */
export interface Attributes {
  get(key: string): AttributeValue
  has(key: string): boolean
}

export interface Span {
  /** Lowercase hex; empty or malformed as sent, for the mapper to reject. */
  traceId: string
  spanId: string
  name: string
  /** Nanoseconds since the epoch; undefined when absent or malformed. */
  start?: bigint
  end?: bigint
  attributes: Attributes
  statusCode: number
}

export interface ResourceSpans { resource: Attributes; spans: Span[] }

/** A body that is not an ExportTraceServiceRequest in the encoding it claims: 400. */
export class UndecodableBody extends Error {}

/** The files to load; their imports resolve within the same folder. */
const ENTRY_FILES = ['opentelemetry/proto/collector/trace/v1/trace_service.proto', 'google/rpc/status.proto']

export type OtlpCodec = ReturnType<typeof otlpCodec>

/** The codec over the .proto files in `protoDir` (srv/otlp/proto). */
export function otlpCodec(protoDir: string) {
  const root = new protobuf.Root()
  // imports name paths from the folder's root, not from the importing file's folder
  root.resolvePath = (_origin, target) => path.isAbsolute(target) ? target : path.join(protoDir, target)
  root.loadSync(ENTRY_FILES)
  const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
  const Response = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse')
  const Status = root.lookupType('google.rpc.Status')

  return {
    /** The resources and their spans of an export request; throws UndecodableBody. */
    decode(body: Uint8Array, encoding: Encoding): ResourceSpans[] {
      return encoding === 'json' ? fromJSON(body) : fromProtobuf(Request, body)
    },

    /** ExportTraceServiceResponse: `partial_success` only when spans were rejected (or there is something to say). */
    response(encoding: Encoding, rejectedSpans = 0, errorMessage = ''): Uint8Array | string {
      const partial = rejectedSpans || errorMessage ? { rejectedSpans, errorMessage } : undefined
      if (encoding === 'json') return JSON.stringify(partial ? { partialSuccess: { ...partial, rejectedSpans: String(rejectedSpans) } } : {})
      return Response.encode(Response.create(partial ? { partialSuccess: partial } : {})).finish()
    },

    /** google.rpc.Status, the body of every 4xx and 5xx answer; `code` is a google.rpc.Code. */
    status(encoding: Encoding, code: number, message: string): Uint8Array | string {
      if (encoding === 'json') return JSON.stringify({ code, message })
      return Status.encode(Status.create({ code, message })).finish()
    },

    /** An export request from plain objects in protobuf.js's form (camelCase, ids as bytes), for clients and tests. */
    encodeRequest(request: object): Uint8Array {
      return Request.encode(Request.fromObject(request)).finish()
    },
  }
}

function fromProtobuf(Request: protobuf.Type, body: Uint8Array): ResourceSpans[] {
  let request: { resourceSpans?: RawResourceSpans[] }
  try {
    request = Request.decode(body) as unknown as typeof request
  } catch (e) {
    throw new UndecodableBody(`The body is not a protobuf-encoded ExportTraceServiceRequest: ${(e as Error).message}`)
  }
  return (request.resourceSpans ?? []).map(rs => ({
    resource: new AttributeMap(rs.resource?.attributes),
    spans: (rs.scopeSpans ?? []).flatMap(ss => (ss.spans ?? []).map(s => ({
      traceId: hex(s.traceId), spanId: hex(s.spanId), name: s.name ?? '',
      start: nanos(s.startTimeUnixNano), end: nanos(s.endTimeUnixNano),
      attributes: new AttributeMap(s.attributes), statusCode: Number(s.status?.code ?? 0),
    }))),
  }))
}

/** OTLP/JSON: unknown keys are ignored as the specification asks; structures of the wrong shape are not decodable. */
function fromJSON(body: Uint8Array): ResourceSpans[] {
  let request: unknown
  try {
    request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'))
  } catch (e) {
    throw new UndecodableBody(`The body is not JSON: ${(e as Error).message}`)
  }
  if (!isObject(request)) throw new UndecodableBody('The body is not an OTLP/JSON ExportTraceServiceRequest object')
  return list(request.resourceSpans, 'resourceSpans').map((rs, i) => {
    const at = `resourceSpans[${i}]`
    const resource = optionalObject(rs.resource, `${at}.resource`)
    return {
      resource: new AttributeMap(list(resource?.attributes, `${at}.resource.attributes`)),
      spans: list(rs.scopeSpans, `${at}.scopeSpans`).flatMap((ss, j) => list(ss.spans, `${at}.scopeSpans[${j}].spans`).map((s, k) => {
        const where = `${at}.scopeSpans[${j}].spans[${k}]`
        return {
          traceId: typeof s.traceId === 'string' ? s.traceId.toLowerCase() : '',
          spanId: typeof s.spanId === 'string' ? s.spanId.toLowerCase() : '',
          name: typeof s.name === 'string' ? s.name : '',
          start: nanos(s.startTimeUnixNano), end: nanos(s.endTimeUnixNano),
          attributes: new AttributeMap(list(s.attributes, `${where}.attributes`)),
          statusCode: statusCode(optionalObject(s.status, `${where}.status`)?.code),
        }
      }))
    }
  })
}

type JSONObject = Record<string, unknown>
const isObject = (value: unknown): value is JSONObject => typeof value === 'object' && value !== null && !Array.isArray(value)
const hasOwn = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key)

/** A repeated field: absent is empty, anything but an array of objects is not decodable. */
function list(value: unknown, where: string): JSONObject[] {
  if (value == null) return []
  if (!Array.isArray(value) || !value.every(isObject)) throw new UndecodableBody(`${where} must be an array of objects`)
  return value
}

function optionalObject(value: unknown, where: string): JSONObject | undefined {
  if (value == null) return undefined
  if (!isObject(value)) throw new UndecodableBody(`${where} must be an object`)
  return value
}

/** Status.code: an integer in OTLP/JSON; the enum's names are accepted too, as protobuf's JSON mapping has them. */
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 }
const statusCode = (code: unknown) => typeof code === 'number' ? code : typeof code === 'string' ? STATUS_CODES[code] ?? Number(code) : 0

/** What protobuf.js decodes 64-bit integers to (the `long` package). */
interface Long { low: number; high: number; unsigned: boolean; toNumber(): number }
const isLong = (value: unknown): value is Long => typeof value === 'object' && value !== null && 'low' in value && 'high' in value

/** fixed64 nanoseconds as sent: a Long (protobuf), a decimal string or a number (JSON). */
function nanos(value: unknown): bigint | undefined {
  if (isLong(value)) return (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value)
  // a JSON number this large is exact to a few hundred nanoseconds, which is plenty here
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value)
  return undefined
}

/** int64 attribute values as numbers: a Long, a decimal string or a number. */
function int64(value: unknown): number | undefined {
  if (isLong(value)) return value.toNumber()
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value)) return Number(value)
  if (typeof value === 'number' && Number.isInteger(value)) return value
  return undefined
}

const hex = (bytes: Uint8Array | null | undefined) => bytes?.length ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : ''

interface RawKeyValue { key?: unknown; value?: unknown }
interface RawSpan {
  traceId?: Uint8Array; spanId?: Uint8Array; name?: string; startTimeUnixNano?: unknown; endTimeUnixNano?: unknown
  attributes?: RawKeyValue[]; status?: { code?: number } | null
}
interface RawResourceSpans { resource?: { attributes?: RawKeyValue[] } | null; scopeSpans?: { spans?: RawSpan[] }[] }

/** The fields of the AnyValue oneof (opentelemetry/proto/common/v1/common.proto). */
const ANY_VALUE_FIELDS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] as const

class AttributeMap implements Attributes {
  private readonly values = new Map<string, unknown>()
  constructor(keyValues: RawKeyValue[] | JSONObject[] | undefined) {
    for (const { key, value } of keyValues ?? []) if (typeof key === 'string') this.values.set(key, value)
  }
  get(key: string) { return anyValue(this.values.get(key)) }
  has(key: string) { return this.values.has(key) }
}

/** An AnyValue as a plain value; key-value lists and bytes, which no attribute we read has, are undefined. */
function anyValue(value: unknown): AttributeValue {
  if (!isObject(value)) return undefined
  // the oneof's set field is the object's own property, in decoded protobuf messages (others read as defaults
  // from the prototype) and in JSON alike; faster than protobuf.js's virtual oneof property
  const field = ANY_VALUE_FIELDS.find(f => hasOwn(value, f))
  const v = field === undefined ? undefined : value[field]
  switch (field) {
    case 'stringValue': return typeof v === 'string' ? v : undefined
    case 'boolValue': return typeof v === 'boolean' ? v : undefined
    case 'intValue': return int64(v)
    // JSON carries NaN and the infinities as strings
    case 'doubleValue': return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined
    case 'arrayValue': {
      const values = isObject(v) && Array.isArray(v.values) ? v.values : []
      return values.map(anyValue)
    }
    default: return undefined
  }
}
