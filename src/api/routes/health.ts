import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Health } from '../../ports/health.ts';
import type { OpsDeps } from '../deps.ts';
import { Dependencies } from '../schemas.ts';

/** A dependency that hangs must not hang the probes: k8s would kill a process that is merely degraded. */
const HEALTH_TIMEOUT_MS = 2_000;

async function checkDependencies(deps: OpsDeps): Promise<Record<string, Health>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
  });
  try {
    const all = await Promise.race([deps.health(), timeout]);
    const out: Record<string, Health> = {};
    for (const [name, h] of Object.entries(all)) {
      out[name] = h.detail === undefined ? { ok: h.ok === true } : { ok: h.ok === true, detail: h.detail };
    }
    return out;
  } catch (e) {
    // Reported as a failing pseudo-dependency so /ready turns 503 and /health still answers.
    return { health: { ok: false, detail: `health check failed: ${e instanceof Error ? e.message : String(e)}` } };
  } finally {
    clearTimeout(timer);
  }
}

const StatusField = Type.Unsafe<'OK' | 'FAIL'>({ type: 'string', enum: ['OK', 'FAIL'], description: '<dependency>_status, one per dependency' });

const HealthBody = Type.Object(
  {
    status: Type.Literal('ok'),
    uptime_s: Type.Number({ description: 'Seconds since the process started' }),
    version: Type.String(),
    dependencies: Dependencies,
  },
  {
    // The seed systems' `redis_status: "OK"` fields, one per dependency.
    additionalProperties: StatusField,
    examples: [
      {
        status: 'ok',
        uptime_s: 12.5,
        version: '0.1.0',
        store_status: 'OK',
        cache_status: 'OK',
        dependencies: { store: { ok: true, detail: 'connected' }, cache: { ok: true } },
      },
    ],
  },
);

const ProviderBody = Type.Object({
  ok: Type.Boolean(),
  circuit: Type.String({ description: 'closed, open or half-open' }),
  last_success_at: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  last_error: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  error_rate: Type.Unsafe<number | null>({ type: ['number', 'null'], description: 'failed / all requests over window_s' }),
  requests: Type.Integer(),
  window_s: Type.Number(),
  connected: Type.Unsafe<boolean | null>({ type: ['boolean', 'null'], description: 'streaming providers: every stream connected' }),
});

const ReadyBody = Type.Object({
  ready: Type.Boolean(),
  dependencies: Dependencies,
  providers: Type.Optional(
    Type.Record(Type.String(), ProviderBody, {
      description: 'Market-data providers in use. Informational: an outside provider being down does not make this process unready (it would only take healthy replicas out of service).',
    }),
  ),
});

export async function healthRoutes(app: FastifyInstance, opts: { deps: OpsDeps; version: string }): Promise<void> {
  const { deps, version } = opts;

  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: 200 while the process is up, with each dependency\'s state',
        response: { 200: HealthBody },
      },
    },
    async () => {
      const dependencies = await checkDependencies(deps);
      const body: Record<string, unknown> = {
        status: 'ok',
        uptime_s: Math.round(process.uptime() * 1000) / 1000,
        version,
      };
      for (const [name, h] of Object.entries(dependencies)) body[`${name}_status`] = h.ok ? 'OK' : 'FAIL';
      body.dependencies = dependencies;
      return body;
    },
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 when every dependency is healthy, else 503; with the health of the market-data providers in use',
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_request, reply) => {
      const dependencies = await checkDependencies(deps);
      const ready = Object.values(dependencies).every((h) => h.ok);
      const providers = Object.fromEntries(
        Object.entries(deps.providers?.() ?? {}).map(([name, h]) => [
          name,
          { ok: h.ok, circuit: h.circuit, last_success_at: h.lastSuccessAt, last_error: h.lastError, error_rate: h.errorRate, requests: h.requests, window_s: h.windowSeconds, connected: h.connected },
        ]),
      );
      return reply.code(ready ? 200 : 503).send({ ready, dependencies, ...(Object.keys(providers).length > 0 ? { providers } : {}) });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text format' }) },
      },
    },
    async (_request, reply) => {
      const text = await deps.metrics.registry.metrics();
      // A non-JSON content type makes Fastify send the string as is instead of through the schema.
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
