import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { parseRoles } from '../../roles/roles.ts';
import { LiveHub } from '../live.ts';
import { StatsSampler } from '../stats.ts';
import { SourceStatsBody, SymbolParam, normalizeSymbol, type RouteOptions } from '../schemas.ts';

const LiveQuery = Type.Object({ symbol: Type.Optional(SymbolParam) });

export async function metaRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;

  app.get(
    '/v1/sources',
    {
      schema: {
        tags: ['meta'],
        summary: 'Sources running in this process, with their rates',
        response: { 200: Type.Object({ sources: Type.Array(SourceStatsBody) }) },
      },
    },
    async () => ({ sources: deps.sources() }),
  );

  const roles = parseRoles(deps.config.roles);
  const sampler = new StatsSampler({ metrics: deps.metrics, sources: deps.sources, pipeline: roles.has('process'), ingest: roles.has('ingest') || deps.ingest !== null });
  const hub = new LiveHub({ cache: deps.cache, logger: deps.logger, stats: () => sampler.sample() });
  app.addHook('onClose', async () => hub.close());
  app.get<{ Querystring: { symbol?: string } }>(
    '/v1/live',
    {
      schema: {
        tags: ['meta'],
        summary: 'Live updates as Server-Sent Events: `quotes` (what changed, coalesced per symbol, at most 4 a second), `stats` (pipeline health, every second) and, with ?symbol=, `ticks` of that symbol',
        querystring: LiveQuery,
        produces: ['text/event-stream'],
        response: { 200: Type.String({ description: 'text/event-stream' }) },
      },
    },
    async (request, reply) => {
      reply.hijack();
      await hub.attach(reply.raw, request.query.symbol === undefined ? null : normalizeSymbol(request.query.symbol));
    },
  );

  // Also served by Swagger UI at /docs/json; this is the conventional address for clients and codegen.
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
