import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TicklineError } from '../../core/errors.ts';
import { tickToJson, type Tick } from '../../core/tick.ts';
import { formatIsoMicros, nowMicros, type Micros } from '../../core/time.ts';
import {
  LatestPrice,
  MAX_LIMIT,
  NullableNumber,
  NullableString,
  SymbolParam,
  TickJson,
  TimeParam,
  errorResponses,
  normalizeSymbol,
  timeRange,
  type RouteOptions,
} from '../schemas.ts';

export function latestJson(t: Tick, now: Micros): Static<typeof LatestPrice> {
  const { seq: _seq, ...fields } = tickToJson(t);
  return { ...fields, age_ms: Math.round(now - t.ts) / 1000 };
}

const SymbolsBody = Type.Object({
  symbols: Type.Array(
    Type.Object({
      symbol: Type.String(),
      ticks: Type.Integer({ description: 'Ticks in the store' }),
      first_ts: { ...NullableString, description: 'Oldest stored tick; null when the symbol is only in the latest-price cache' },
      last_ts: { ...NullableString, description: 'Newest stored tick; null when the symbol is only in the latest-price cache' },
      last_price: { ...NullableNumber, description: 'Latest price from the cache; null when the cache has none' },
    }),
  ),
});

const HISTORY_LIMIT = 1_000;

type SymbolRow = { symbol: string; ticks: number; first_ts: string | null; last_ts: string | null; last_price: number | null };

const LatestQuery = Type.Object({ symbol: Type.Optional(SymbolParam) });
const LatestAll = Type.Object({ prices: Type.Array(LatestPrice) });

const HistoryQuery = Type.Object({
  symbol: SymbolParam,
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: HISTORY_LIMIT })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'next_cursor of the previous page' })),
  order: Type.Optional(Type.Unsafe<'asc' | 'desc'>({ type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'By event time' })),
});

const HistoryBody = Type.Object({
  symbol: Type.String(),
  ticks: Type.Array(TickJson),
  next_cursor: { ...NullableString, description: 'Pass as cursor to get the next page; null on the last page' },
});

export async function priceRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;

  app.get(
    '/v1/symbols',
    {
      schema: {
        tags: ['prices'],
        summary: 'Every known symbol: stored tick count and range, and latest price',
        response: { 200: SymbolsBody, ...errorResponses(500, 503) },
      },
    },
    async () => {
      const [stored, latest] = await Promise.all([deps.store.symbols(), deps.cache.all()]);
      const priceOf = new Map(latest.map((t) => [t.symbol, t.price]));
      const symbols: SymbolRow[] = stored.map((s) => ({
        symbol: s.symbol,
        ticks: s.ticks,
        first_ts: formatIsoMicros(s.firstTs),
        last_ts: formatIsoMicros(s.lastTs),
        last_price: priceOf.get(s.symbol) ?? null,
      }));
      const inStore = new Set(stored.map((s) => s.symbol));
      for (const t of latest) {
        if (!inStore.has(t.symbol)) symbols.push({ symbol: t.symbol, ticks: 0, first_ts: null, last_ts: null, last_price: t.price });
      }
      symbols.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
      return { symbols };
    },
  );

  app.get<{ Querystring: Static<typeof LatestQuery> }>(
    '/v1/prices/latest',
    {
      schema: {
        tags: ['prices'],
        summary: 'Latest price of one symbol (with symbol) or of every symbol (without)',
        querystring: LatestQuery,
        response: { 200: Type.Union([LatestPrice, LatestAll]), ...errorResponses(400, 404, 500, 503) },
      },
    },
    async (request) => {
      const now = nowMicros();
      if (request.query.symbol === undefined) {
        const all = await deps.cache.all();
        all.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
        return { prices: all.map((t) => latestJson(t, now)) };
      }
      const symbol = normalizeSymbol(request.query.symbol);
      const tick = await deps.cache.get(symbol);
      if (tick === undefined) {
        throw new TicklineError('TL_ERR_NOT_FOUND', `no latest price for symbol ${JSON.stringify(symbol)}; GET /v1/symbols lists the known ones`);
      }
      return latestJson(tick, now);
    },
  );

  app.get<{ Querystring: Static<typeof HistoryQuery> }>(
    '/v1/prices/history',
    {
      schema: {
        tags: ['prices'],
        summary: 'Stored ticks of one symbol, paged',
        querystring: HistoryQuery,
        response: { 200: HistoryBody, ...errorResponses(400, 500, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const symbol = normalizeSymbol(q.symbol);
      const { from, to } = timeRange(q.from, q.to);
      const page = await deps.store.history({ symbol, from, to, limit: q.limit ?? HISTORY_LIMIT, cursor: q.cursor, order: q.order ?? 'asc' });
      return { symbol, ticks: page.ticks.map(tickToJson), next_cursor: page.next };
    },
  );
}
