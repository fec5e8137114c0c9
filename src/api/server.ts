import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ApiDeps, OpsDeps } from './deps.ts';
import { jsonParser } from './body.ts';
import type { RouteOptions } from './schemas.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { barRoutes } from './routes/bars.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { metaRoutes } from './routes/meta.ts';
import { priceRoutes } from './routes/prices.ts';
import { qualityRoutes } from './routes/quality.ts';
import { seedRoutes } from './routes/seed-compat.ts';

/** Same relative path from src/api/ and dist/api/. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const TAGS = [
  { name: 'health', description: 'Liveness, readiness and Prometheus metrics' },
  { name: 'prices', description: 'Symbols, latest prices and tick history' },
  { name: 'bars', description: 'OHLCV bars' },
  { name: 'ingest', description: 'Sending ticks in' },
  { name: 'seed-compat', description: 'Routes of the seed systems, with their exact request and response shapes' },
  { name: 'meta', description: 'Sources and the API description' },
];

/** The Fastify instance every server of Tickline starts from: logging, request ids, errors, JSON parsing. */
function baseApp(deps: OpsDeps): FastifyInstance {
  // Typed with pino's Logger the instance is not assignable to the plain FastifyInstance callers expect.
  const app = Fastify({
    loggerInstance: deps.logger,
    // A proxy's request id reaches our log lines (echoed back below) only when it is short and plain:
    // it is untrusted input that ends up in logs.
    requestIdHeader: false,
    // Per-request lines drown the log at dashboard polling rates; they appear at debug level and below.
    logController: new LogController({ disableRequestLogging: !['debug', 'trace'].includes(deps.config.logLevel) }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }) as unknown as FastifyInstance;

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonParser);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  return app;
}

/**
 * The probes alone (`/health`, `/ready`, `/metrics`), for processes that do not run the api role:
 * an ingest or process replica is still watched and scraped like any other.
 */
export async function buildOpsServer(deps: OpsDeps): Promise<FastifyInstance> {
  const app = baseApp(deps);
  await app.register(healthRoutes, { deps, version: VERSION });
  return app;
}

/** Builds the API (routes, OpenAPI, Swagger UI, error handling) without listening. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = baseApp(deps);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tickline',
        version: VERSION,
        description: 'Real-time market data: latest prices, tick history, bars and ingest. Errors are `{code, message, details?}`.',
      },
      tags: TAGS,
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Assets come from the package itself; the validator badge would call validator.swagger.io.
    uiConfig: { validatorUrl: null },
    staticCSP: true,
  });

  const opts: RouteOptions = { deps, version: VERSION };
  await app.register(healthRoutes, opts);
  await app.register(priceRoutes, opts);
  await app.register(barRoutes, opts);
  await app.register(ingestRoutes, opts);
  await app.register(seedRoutes, opts);
  await app.register(metaRoutes, opts);
  await app.register(qualityRoutes, opts);
  return app;
}
