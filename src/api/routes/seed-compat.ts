import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTicklineError } from '../../core/errors.ts';
import { parseTick, type FieldIssue } from '../../core/tick.ts';
import { formatIsoMicros, nowMicros } from '../../core/time.ts';
import { SeedDetail, SymbolParam, errorResponses, normalizeSymbol, type RouteOptions } from '../schemas.ts';
import { countIngest } from './ingest.ts';

/**
 * The routes of the seed systems (FastAPI), kept so their clients work unchanged: same paths, same bodies,
 * and FastAPI's error shapes (`{detail: "..."}`, and 422 `{detail: [{type, loc, msg, input}]}` for bad input)
 * instead of Tickline's `{code, message}`.
 */

interface DetailItem {
  type: string;
  loc: Array<string | number>;
  msg: string;
  input?: unknown;
  ctx?: Record<string, unknown>;
}

const LOC_OF: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Ajv errors in pydantic's vocabulary, which is what FastAPI clients parse. */
function ajvToDetail(error: FastifyError): DetailItem[] {
  const where = LOC_OF[error.validationContext ?? 'body'] ?? 'body';
  return (error.validation ?? []).map((v) => {
    const path = v.instancePath.split('/').filter((p) => p !== '');
    if (v.keyword === 'required') {
      return { type: 'missing', loc: [where, ...path, String(v.params.missingProperty)], msg: 'Field required' };
    }
    return { type: 'value_error', loc: [where, ...path], msg: v.message ?? 'invalid value' };
  });
}

/** parseTick's issues in pydantic's vocabulary; the field names are the seed's, not Tickline's. */
function issueToDetail(issue: FieldIssue): DetailItem {
  const field = issue.field === 'ts' ? 'timestamp' : issue.field;
  const loc = ['body', field];
  if (issue.value === undefined) return { type: 'missing', loc, msg: 'Field required', input: null };
  let type = 'value_error';
  if (field === 'timestamp') type = 'datetime_parsing';
  else if (field === 'price' || field === 'volume') type = typeof issue.value === 'string' ? 'float_parsing' : 'float_type';
  else if (field === 'symbol') type = typeof issue.value === 'string' ? 'string_too_long' : 'string_type';
  return { type, loc, msg: issue.message, input: issue.value };
}

function seedErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) return reply.code(422).send({ detail: ajvToDetail(error) });
  // Raised by the body parser: the body is not JSON. FastAPI answers these with 422 json_invalid too.
  if (isTicklineError(error) && error.code === 'TL_ERR_VALIDATION') {
    const d = Array.isArray(error.details) ? (error.details[0] as { position?: number } | undefined) : undefined;
    const loc: Array<string | number> = d?.position === undefined ? ['body'] : ['body', d.position];
    return reply.code(422).send({ detail: [{ type: 'json_invalid', loc, msg: 'JSON decode error', ctx: { error: error.message } }] });
  }
  // Everything else (413, 500, …) gets Tickline's error shape from the parent handler.
  throw error;
}

const QuoteBody = Type.Object({
  symbol: Type.String({ examples: ['AAPL'] }),
  price: Type.Number({ examples: [189.5] }),
  volume: Type.Optional(Type.Number({ default: 0 })),
  timestamp: Type.String({ description: 'ISO 8601 (no offset means UTC) or epoch number', examples: ['2024-01-02T15:04:05.123456'] }),
});

const ValidationDetail = Type.Object({
  detail: Type.Array(
    Type.Object({
      type: Type.String(),
      loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
      msg: Type.String(),
      input: Type.Optional(Type.Unknown()),
      ctx: Type.Optional(Type.Unknown()),
    }),
  ),
});

const LastPriceParams = Type.Object({ symbol: SymbolParam });
const SeedLatestQuery = Type.Object({
  symbol: SymbolParam,
  provider: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only answer if the latest price came from this provider' })),
});

export async function seedRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;
  app.setErrorHandler(seedErrorHandler);

  app.post(
    '/ingest/quote',
    {
      schema: {
        tags: ['seed-compat'],
        summary: 'Ingest one quote (seed 000 route)',
        body: QuoteBody,
        response: {
          202: Type.Object({ status: Type.Literal('accepted'), symbol: Type.String() }),
          422: ValidationDetail,
          503: SeedDetail,
          ...errorResponses(413, 415, 500),
        },
      },
      // parseTick reports every bad field at once, as pydantic does, and does not coerce null to 0 as Ajv would.
      validatorCompiler: () => () => true,
      onResponse: countIngest(deps, '/ingest/quote'),
    },
    async (request, reply) => {
      const body: unknown = request.body;
      if (body === undefined || body === null) {
        return reply.code(422).send({ detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] });
      }
      if (typeof body !== 'object' || Array.isArray(body)) {
        return reply.code(422).send({
          detail: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }],
        });
      }
      const b = body as Record<string, unknown>;
      // Only the seed's fields: like pydantic, extra keys are ignored rather than refused.
      const parsed = parseTick({ symbol: b.symbol, price: b.price, volume: b.volume, timestamp: b.timestamp }, 0, { provider: 'api', currency: 'USD', recvTs: nowMicros() });
      if (Array.isArray(parsed)) return reply.code(422).send({ detail: parsed.map(issueToDetail) });
      if (deps.ingest === null) return reply.code(503).send({ detail: 'this process does not run the ingest role' });
      await deps.ingest([parsed]);
      return reply.code(202).send({ status: 'accepted', symbol: parsed.symbol });
    },
  );

  app.get<{ Params: Static<typeof LastPriceParams> }>(
    '/market_data/last_price/:symbol',
    {
      schema: {
        tags: ['seed-compat'],
        summary: 'Latest price from the cache (seed 000 route)',
        params: LastPriceParams,
        response: { 200: Type.Object({ symbol: Type.String(), price: Type.Number() }), 404: SeedDetail, 422: ValidationDetail },
      },
    },
    async (request, reply) => {
      const symbol = normalizeSymbol(request.params.symbol);
      const tick = await deps.cache.get(symbol);
      if (tick === undefined) return reply.code(404).send({ detail: 'Symbol not found in cache' });
      return { symbol: tick.symbol, price: tick.price };
    },
  );

  app.get<{ Querystring: Static<typeof SeedLatestQuery> }>(
    '/prices/latest',
    {
      schema: {
        tags: ['seed-compat'],
        summary: 'Latest price, optionally of one provider (seed 004 route)',
        querystring: SeedLatestQuery,
        response: {
          200: Type.Object({ symbol: Type.String(), price: Type.Number(), timestamp: Type.String(), provider: Type.String() }),
          404: SeedDetail,
          422: ValidationDetail,
        },
      },
    },
    async (request, reply) => {
      const symbol = normalizeSymbol(request.query.symbol);
      const tick = await deps.cache.get(symbol);
      const provider = request.query.provider;
      if (tick === undefined || (provider !== undefined && provider.toLowerCase() !== tick.provider.toLowerCase())) {
        return reply.code(404).send({ detail: 'Price point not found' });
      }
      return { symbol: tick.symbol, price: tick.price, timestamp: formatIsoMicros(tick.ts), provider: tick.provider };
    },
  );
}
