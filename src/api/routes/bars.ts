import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Bar } from '../../core/bar.ts';
import { formatIsoMicros } from '../../core/time.ts';
import {
  BarJson,
  DEFAULT_INTERVAL,
  IntervalParam,
  MAX_LIMIT,
  SymbolParam,
  TimeParam,
  errorResponses,
  normalizeSymbol,
  timeRange,
  type RouteOptions,
} from '../schemas.ts';

const BARS_LIMIT = 500;

const BarsQuery = Type.Object({
  symbol: SymbolParam,
  interval: Type.Optional(IntervalParam),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: BARS_LIMIT })),
});

const BarsBody = Type.Object({
  symbol: Type.String(),
  interval: Type.String(),
  bars: Type.Array(BarJson),
});

function barJson(b: Bar): Static<typeof BarJson> {
  return { start: formatIsoMicros(b.start), open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume, trades: b.trades };
}

export async function barRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;

  app.get<{ Querystring: Static<typeof BarsQuery> }>(
    '/v1/bars',
    {
      schema: {
        tags: ['bars'],
        summary: 'OHLCV bars of one symbol, bucketed by event time (UTC)',
        querystring: BarsQuery,
        response: { 200: BarsBody, ...errorResponses(400, 500, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      const symbol = normalizeSymbol(q.symbol);
      const { from, to } = timeRange(q.from, q.to);
      const interval = q.interval ?? DEFAULT_INTERVAL;
      const bars = await deps.store.bars({ symbol, interval, from, to, limit: q.limit ?? BARS_LIMIT });
      return { symbol, interval, bars: bars.map(barJson) };
    },
  );
}
