import { Type } from '@sinclair/typebox';
import { INTERVALS, type Interval } from '../core/bar.ts';
import { TicklineError, show } from '../core/errors.ts';
import { toMicros, type Micros } from '../core/time.ts';
import type { ApiDeps } from './deps.ts';

/**
 * TypeBox schemas shared by the route plugins. Fastify validates requests with them and serialises
 * responses with them, and @fastify/swagger turns them into the OpenAPI document, so they are the one
 * description of the wire format.
 */

// `type: [t, 'null']` rather than `Type.Union`: fast-json-stringify serialises it without trying
// each branch, and @fastify/swagger turns it into OpenAPI 3.0 `nullable`.
export const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] });
export const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] });

export const IsoTime = Type.String({ description: 'ISO 8601 UTC with microseconds', examples: ['2024-01-02T15:04:05.123456Z'] });

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable error code, e.g. TL_ERR_VALIDATION (see docs/errors.md)' }),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'Error' },
);

/** Error responses for the given statuses, all of the `{code, message, details?}` shape. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  const out: Record<number, typeof ErrorBody> = {};
  for (const s of statuses) out[s] = ErrorBody;
  return out;
}

/** What every route plugin is registered with. */
export interface RouteOptions {
  deps: ApiDeps;
  /** Tickline's version (package.json), read once. */
  version: string;
}

// Symbols are upper-cased by parseTick on the way in, so reads upper-case too; the length bound only
// stops absurd inputs, the exact format is the quality checks' business.
export const SymbolParam = Type.String({ minLength: 1, maxLength: 64, description: 'Instrument, case-insensitive, e.g. AAPL', examples: ['AAPL'] });

export function normalizeSymbol(s: string): string {
  return s.trim().toUpperCase();
}

export const TimeParam = Type.String({
  minLength: 1,
  description: 'ISO 8601 date-time (µs kept; no offset means UTC) or epoch seconds/ms/µs/ns',
  examples: ['2024-01-02T15:04:05Z', '1704207845000'],
});

/** Reads an optional `from`/`to` query value; a bad one is a 400 naming the parameter. */
export function timeParam(name: string, value: string | undefined): Micros | undefined {
  if (value === undefined) return undefined;
  const us = toMicros(value);
  if (us === undefined) {
    throw new TicklineError('TL_ERR_VALIDATION', `querystring/${name} must be an ISO 8601 date-time or an epoch number, got ${show(value)}`, {
      details: [{ location: 'querystring', field: name, message: 'not a timestamp' }],
    });
  }
  return us;
}

export function timeRange(from: string | undefined, to: string | undefined): { from: Micros | undefined; to: Micros | undefined } {
  const f = timeParam('from', from);
  const t = timeParam('to', to);
  if (f !== undefined && t !== undefined && f > t) {
    throw new TicklineError('TL_ERR_VALIDATION', `querystring/from (${show(from)}) is after querystring/to (${show(to)})`, {
      details: [{ location: 'querystring', field: 'from', message: 'after to' }],
    });
  }
  return { from: f, to: t };
}

/** Largest page of ticks or bars one request may ask for. */
export const MAX_LIMIT = 10_000;

export const DEFAULT_INTERVAL: Interval = '1m';

// A plain enum (not a union of literals) so a bad value's error lists the allowed ones in one line.
export const IntervalParam = Type.Unsafe<Interval>({
  type: 'string',
  enum: [...INTERVALS],
  default: DEFAULT_INTERVAL,
  description: 'Bar interval',
});

export const TickJson = Type.Object({
  symbol: Type.String(),
  ts: IsoTime,
  price: Type.Number(),
  size: Type.Number(),
  bid: NullableNumber,
  ask: NullableNumber,
  currency: Type.String(),
  provider: Type.String(),
  seq: NullableNumber,
  received_at: IsoTime,
});

const NumberLike = Type.Unsafe<number | string>({ type: ['number', 'string'] });

/**
 * One tick as a client sends it. Documentation only: POST /v1/ticks validates records with `parseTick`
 * instead of Ajv, so a bad batch is answered with every malformed record at once and nothing is coerced.
 */
export const TickInput = Type.Object(
  {
    symbol: Type.String({ maxLength: 64, examples: ['AAPL'] }),
    ts: Type.Optional(Type.Unsafe<string | number>({ type: ['string', 'number'], description: 'Event time: ISO 8601 or epoch s/ms/µs/ns. Required (or its alias timestamp/time).' })),
    timestamp: Type.Optional(Type.Unsafe<string | number>({ type: ['string', 'number'], description: 'Alias of ts' })),
    time: Type.Optional(Type.Unsafe<string | number>({ type: ['string', 'number'], description: 'Alias of ts' })),
    price: NumberLike,
    size: Type.Optional(NumberLike),
    volume: Type.Optional(Type.Unsafe<number | string>({ type: ['number', 'string'], description: 'Alias of size' })),
    bid: Type.Optional(NumberLike),
    ask: Type.Optional(NumberLike),
    currency: Type.Optional(Type.String({ maxLength: 64, default: 'USD' })),
    provider: Type.Optional(Type.String({ maxLength: 64, default: 'api' })),
    seq: Type.Optional(Type.Integer()),
    received_at: Type.Optional(Type.Unsafe<string | number>({ type: ['string', 'number'] })),
  },
  { additionalProperties: false },
);

export const LatestPrice = Type.Object({
  symbol: Type.String(),
  price: Type.Number(),
  size: Type.Number(),
  bid: NullableNumber,
  ask: NullableNumber,
  currency: Type.String(),
  provider: Type.String(),
  ts: IsoTime,
  received_at: IsoTime,
  age_ms: Type.Number({ description: 'Now minus the event time, in milliseconds' }),
});

export const BarJson = Type.Object({
  start: IsoTime,
  open: Type.Number(),
  high: Type.Number(),
  low: Type.Number(),
  close: Type.Number(),
  volume: Type.Number(),
  trades: Type.Integer(),
});

export const IngestResultBody = Type.Object({
  accepted: Type.Integer(),
  quarantined: Type.Integer(),
  issues: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.String() })),
});

export const HealthEntry = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
// additionalProperties, not Type.Record: Record becomes patternProperties, which OpenAPI 3.0 lacks.
export const Dependencies = Type.Object({}, { additionalProperties: HealthEntry, description: 'Health of each dependency, by name' });

export const SourceStatsBody = Type.Object({
  name: Type.String(),
  emitted: Type.Number(),
  rate: Type.Number(),
  running: Type.Boolean(),
  lastError: Type.Optional(Type.String()),
});

/** The FastAPI-style `detail` of the seed-compatible routes. */
export const SeedDetail = Type.Object({ detail: Type.String() });
