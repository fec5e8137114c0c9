import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { TicklineError } from '../../core/errors.ts';
import { jobJson } from '../../jobs/model.ts';
import type { NewJob, PollJobs } from '../../jobs/service.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, NullableString, type RouteOptions } from '../schemas.ts';

const JobBody = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  symbols: Type.Array(Type.String()),
  interval: Type.Number({ description: 'seconds' }),
  status: Type.String({ enum: ['scheduled', 'ok', 'failing'], description: 'failing: the last run failed (see last_error)' }),
  created_at: Type.String(),
  created_by: Type.String(),
  next_run_at: Type.String(),
  last_run_at: NullableString,
  last_success_at: NullableString,
  last_error: NullableString,
  runs: Type.Integer(),
  failures: Type.Integer(),
  ticks: Type.Integer(),
});

// Loose on purpose: the service checks each field and names it in the error (a schema error would not say
// which provider minimum an interval missed).
const NewJobBody = Type.Object(
  {
    symbols: Type.Unknown({ description: 'symbols to poll, e.g. ["AAPL","MSFT"]' }),
    interval: Type.Unknown({ description: 'seconds between polls; at least the provider\'s minimum for that many symbols' }),
    provider: Type.Optional(Type.Unknown({ description: 'yahoo (default; yfinance is accepted), alphavantage or coingecko' })),
  },
  { additionalProperties: false },
);

const IdParam = Type.Object({ id: Type.String({ pattern: '^pj_[0-9a-f]{16}$' }) });

export async function pollJobRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const jobs = (): PollJobs => {
    if (!opts.deps.pollJobs) throw new TicklineError('TL_ERR_UNAVAILABLE', 'polling jobs are not available in this process');
    return opts.deps.pollJobs;
  };
  const tags = ['poll-jobs'];

  app.post<{ Body: NewJob }>(
    '/v1/poll-jobs',
    {
      schema: {
        tags,
        summary: 'Create a polling job: the provider\'s quotes of these symbols, once per interval; persisted, survives restarts',
        body: NewJobBody,
        response: { 201: JobBody, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request, reply) => {
      const job = await jobs().create(request.body, actorOf(request.identity));
      return reply.code(201).send(jobJson(job));
    },
  );

  app.get('/v1/poll-jobs', { schema: { tags, summary: 'Polling jobs with their last run, last error and counts', response: { 200: Type.Object({ jobs: Type.Array(JobBody) }) } } }, async () => ({
    jobs: (await jobs().list()).map(jobJson),
  }));

  app.get<{ Params: { id: string } }>(
    '/v1/poll-jobs/:id',
    { schema: { tags, summary: 'One polling job', params: IdParam, response: { 200: JobBody, ...errorResponses(400, 404) } } },
    async (request) => jobJson(await jobs().get(request.params.id)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/poll-jobs/:id',
    { schema: { tags, summary: 'Delete a polling job (it stops before its next run)', params: IdParam, response: { 204: Type.Null(), ...errorResponses(400, 404) } } },
    async (request, reply) => {
      await jobs().remove(request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: NewJob }>(
    '/prices/poll',
    {
      schema: {
        tags: ['seed-compat'],
        summary: 'Seed 004: schedule a polling job; answers {job_id, status, config}',
        body: NewJobBody,
        response: {
          200: Type.Object({
            job_id: Type.String(),
            status: Type.Literal('accepted'),
            config: Type.Object({ symbols: Type.Array(Type.String()), interval: Type.Number(), provider: Type.String() }),
          }),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => {
      const job = await jobs().create(request.body, actorOf(request.identity));
      return { job_id: job.id, status: 'accepted' as const, config: { symbols: job.symbols, interval: job.intervalMs / 1000, provider: job.provider } };
    },
  );
}
