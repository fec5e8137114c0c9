import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ApiDeps, OpsDeps } from './deps.ts';
import { jsonParser } from './body.ts';
import type { RouteOptions } from './schemas.ts';
import { TicklineError, show } from '../core/errors.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { installAuth } from './auth.ts';
import { adminRoutes } from './routes/admin.ts';
import { authRoutes } from './routes/auth.ts';
import { STATIC_URLS, webRoutes } from './routes/web.ts';
import { barRoutes } from './routes/bars.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { metaRoutes } from './routes/meta.ts';
import { priceRoutes } from './routes/prices.ts';
import { qualityRoutes } from './routes/quality.ts';
import { pollJobRoutes } from './routes/poll-jobs.ts';
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
  { name: 'quality', description: 'Validation runs, quarantine, release and replay' },
  { name: 'auth', description: 'Signing in and out (the dashboard); API clients send an API key instead' },
  { name: 'admin', description: 'Users, API keys and the audit log (admin scope)' },
  { name: 'poll-jobs', description: 'Polling jobs: provider quotes fetched once per interval' },
];

/** TLS material from the configured PEM files, or undefined for plain HTTP. */
function httpsOptions(deps: OpsDeps): { cert: Buffer; key: Buffer } | undefined {
  const { tlsCert, tlsKey } = deps.config;
  if (tlsCert === '' && tlsKey === '') return undefined;
  if (tlsCert === '' || tlsKey === '') {
    throw new TicklineError('TL_ERR_CONFIG', 'TLS needs both TICKLINE_TLS_CERT and TICKLINE_TLS_KEY (PEM files); only one is set');
  }
  const read = (path: string, name: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new TicklineError('TL_ERR_CONFIG', `${name}=${show(path)}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
    }
  };
  return { cert: read(tlsCert, 'TICKLINE_TLS_CERT'), key: read(tlsKey, 'TICKLINE_TLS_KEY') };
}

/** The Fastify instance every server of Tickline starts from: logging, request ids, errors, JSON parsing. */
function baseApp(deps: OpsDeps): FastifyInstance {
  // Typed with pino's Logger the instance is not assignable to the plain FastifyInstance callers expect.
  const https = httpsOptions(deps);
  const app = Fastify({
    ...(https ? { https } : {}),
    // Behind a reverse proxy the client's address (login limits, audit) and scheme (Secure cookies)
    // come from X-Forwarded-For/-Proto; trusting those headers from anyone else would let clients forge them.
    trustProxy: deps.config.trustProxy,
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

  await app.register(cookie);
  // Before any route (Swagger UI's included): routes get their default access as they are registered.
  installAuth(app, deps.auth, { staticUrls: STATIC_URLS });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tickline',
        version: VERSION,
        description: 'Real-time market data: latest prices, tick history, bars and ingest. Errors are `{code, message, details?}`.',
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key tl_<id>_<secret> (tickline keys create), with scopes ingest, read or admin' },
          session: { type: 'apiKey', in: 'cookie', name: 'tickline_session', description: 'The dashboard session (POST /auth/login); unsafe methods also need the x-csrf-token header' },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Assets come from the package itself; the validator badge would call validator.swagger.io.
    uiConfig: { validatorUrl: null, withCredentials: true },
    staticCSP: true,
  });

  const opts: RouteOptions = { deps, version: VERSION };
  await app.register(healthRoutes, opts);
  await app.register(authRoutes, opts);
  await app.register(adminRoutes, opts);
  await app.register(priceRoutes, opts);
  await app.register(barRoutes, opts);
  await app.register(ingestRoutes, opts);
  await app.register(seedRoutes, opts);
  await app.register(metaRoutes, opts);
  await app.register(qualityRoutes, opts);
  await app.register(pollJobRoutes, opts);
  await app.register(webRoutes);
  return app;
}
