import { PassThrough } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { TicklineError } from '../../core/errors.ts';
import type { OnProgress, QualityService, QuarantineFilter } from '../../pipeline/quality-service.ts';
import { renderRunReport } from '../report.ts';
import { MAX_LIMIT, SymbolParam, TimeParam, errorResponses, normalizeSymbol, timeParam, timeRange, type RouteOptions } from '../schemas.ts';

const RunId = Type.String({ pattern: '^\\d{8}T\\d{6}Z-[0-9a-f]{6}$', description: 'Validation run id, e.g. 20261121T163000Z-1a2b3c' });
const Expectation = Type.String({ pattern: '^[a-z0-9_]{1,64}$', description: 'Expectation name from the suite' });
const FreeObject = Type.Object({}, { additionalProperties: true });

const RunsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })) });
const RunParams = Type.Object({ id: RunId });
const QuarantineQuery = Type.Object({
  symbol: Type.Optional(SymbolParam),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  expectation: Type.Optional(Expectation),
  run: Type.Optional(RunId),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 100 })),
});
const Progress = Type.Optional(Type.Boolean({ description: 'Stream NDJSON progress lines before the summary line', default: false }));
const ReleaseBody = Type.Object(
  {
    run: Type.Optional(RunId),
    symbol: Type.Optional(SymbolParam),
    expectation: Type.Optional(Expectation),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    progress: Progress,
  },
  { additionalProperties: false },
);
const ReplayBody = Type.Object(
  {
    zone: Type.Literal('raw', { description: 'Zone replayed from (raw: what the sources delivered)' }),
    from: TimeParam,
    to: TimeParam,
    progress: Progress,
  },
  { additionalProperties: false },
);

function service(opts: RouteOptions): QualityService {
  const q = opts.deps.quality;
  if (!q) throw new TicklineError('TL_ERR_UNAVAILABLE', 'this process has no zones configured, so it serves no quality data');
  return q;
}

function withReport<T extends { id: string }>(run: T): T & { report_url: string } {
  return { ...run, report_url: `/v1/quality/runs/${run.id}/report` };
}

/**
 * Runs a long operation. With `progress`, the answer is NDJSON: `{"progress": …}` lines while it works,
 * then `{"result": …}` (or `{"error": …}` if it failed after the answer started). Without, one JSON body.
 */
async function longRun<T>(reply: FastifyReply, progress: boolean | undefined, op: (onProgress: OnProgress) => Promise<T>): Promise<unknown> {
  if (!progress) return { result: await op(() => {}) };
  const out = new PassThrough();
  let last = 0;
  void reply.type('application/x-ndjson').send(out);
  try {
    const result = await op((p) => {
      const now = Date.now();
      if (now - last < 100 && p.done !== p.total) return; // at most ~10 lines a second
      last = now;
      out.write(`${JSON.stringify({ progress: p })}\n`);
    });
    out.end(`${JSON.stringify({ result })}\n`);
  } catch (err) {
    const e = err instanceof TicklineError ? err.toJSON() : { code: 'TL_ERR_INTERNAL', message: (err as Error).message };
    out.end(`${JSON.stringify({ error: e })}\n`);
  }
  return reply;
}

export async function qualityRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  app.get(
    '/v1/quality/suite',
    { schema: { tags: ['quality'], summary: 'The expectation suite the gate runs', response: { 200: FreeObject, ...errorResponses(503) } } },
    async () => {
      const s = service(opts).suite;
      return { name: s.name, version: s.version, file: s.file, expectations: s.expectations };
    },
  );

  app.get<{ Querystring: Static<typeof RunsQuery> }>(
    '/v1/quality/runs',
    {
      schema: {
        tags: ['quality'],
        summary: 'Recent validation runs, newest first (streaming runs span a minute of one process; replays and releases are one run each)',
        querystring: RunsQuery,
        response: { 200: Type.Object({ runs: Type.Array(FreeObject) }), ...errorResponses(400, 503) },
      },
    },
    async (request) => {
      const runs = await service(opts).listRuns(request.query.limit ?? 20);
      // The list leaves out the failure samples; the run itself has them.
      return { runs: runs.map((r) => withReport({ ...r, failures_sample: undefined })) };
    },
  );

  app.get<{ Params: Static<typeof RunParams> }>(
    '/v1/quality/runs/:id',
    {
      schema: {
        tags: ['quality'],
        summary: 'One validation run: counts, each expectation against its mostly, a sample of failing rows',
        params: RunParams,
        response: { 200: FreeObject, ...errorResponses(400, 404, 503) },
      },
    },
    async (request) => {
      const run = await service(opts).getRun(request.params.id);
      if (!run) throw new TicklineError('TL_ERR_NOT_FOUND', `no validation run ${request.params.id}`);
      return withReport(run);
    },
  );

  app.get<{ Params: Static<typeof RunParams> }>(
    '/v1/quality/runs/:id/report',
    {
      schema: {
        tags: ['quality'],
        summary: 'The run as an HTML report page',
        params: RunParams,
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'HTML page' }), ...errorResponses(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const run = await service(opts).getRun(request.params.id);
      if (!run) throw new TicklineError('TL_ERR_NOT_FOUND', `no validation run ${request.params.id}`);
      return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'").send(renderRunReport(run));
    },
  );

  app.get<{ Querystring: Static<typeof QuarantineQuery> }>(
    '/v1/quarantine',
    {
      schema: {
        tags: ['quality'],
        summary: 'Quarantined rows with the failed expectation, observed value, threshold, suite version and run',
        description: 'Event-time range [from, to): defaults to the run\'s span when `run` is given, else from 24 hours ago to 24 hours ahead (future-dated rows are what not_in_future quarantines).',
        querystring: QuarantineQuery,
        response: {
          200: Type.Object({ from: Type.String(), to: Type.String(), truncated: Type.Boolean(), rows: Type.Array(FreeObject) }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { from, to } = timeRange(q.from, q.to);
      const filter: QuarantineFilter = { limit: q.limit ?? 100 };
      if (q.symbol !== undefined) filter.symbol = normalizeSymbol(q.symbol);
      if (q.expectation !== undefined) filter.expectation = q.expectation;
      if (q.run !== undefined) filter.run = q.run;
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      return service(opts).quarantine(filter);
    },
  );

  app.post<{ Body: Static<typeof ReleaseBody> }>(
    '/v1/quarantine/release',
    {
      schema: {
        tags: ['quality'],
        summary: 'Re-validates quarantined rows against the current suite and releases those that pass now',
        description: 'Pick rows by `run`, or by symbol / expectation / event-time range. Each row is released once.',
        body: ReleaseBody,
        response: { 200: Type.Object({ result: FreeObject }), ...errorResponses(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.run === undefined && b.symbol === undefined && b.expectation === undefined && b.from === undefined) {
        throw new TicklineError('TL_ERR_VALIDATION', 'body: name a run, or a symbol, expectation or from/to range of rows to release');
      }
      const filter: QuarantineFilter = {};
      if (b.run !== undefined) filter.run = b.run;
      if (b.symbol !== undefined) filter.symbol = normalizeSymbol(b.symbol);
      if (b.expectation !== undefined) filter.expectation = b.expectation;
      const { from, to } = timeRange(b.from, b.to);
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      const svc = service(opts);
      return longRun(reply, b.progress, (p) => svc.release(filter, p));
    },
  );

  app.post<{ Body: Static<typeof ReplayBody> }>(
    '/v1/replay',
    {
      schema: {
        tags: ['quality'],
        summary: 'Runs raw rows of whole event-time hours through the normalizer and the current suite again',
        description: 'Rebuilds the curated files of those hours and the missing store rows and bars. Idempotent: running it twice changes nothing.',
        body: ReplayBody,
        response: { 200: Type.Object({ result: FreeObject }), ...errorResponses(400, 503) },
      },
    },
    async (request, reply) => {
      const from = timeParam('from', request.body.from)!;
      const to = timeParam('to', request.body.to)!;
      const svc = service(opts);
      return longRun(reply, request.body.progress, (p) => svc.replay({ from, to }, p));
    },
  );
}
