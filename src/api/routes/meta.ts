import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { SourceStatsBody, type RouteOptions } from '../schemas.ts';

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

  // Also served by Swagger UI at /docs/json; this is the conventional address for clients and codegen.
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
