import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TicklineError, show } from '../../core/errors.ts';
import { parseTick, type FieldIssue, type Tick, type TickDefaults } from '../../core/tick.ts';
import { nowMicros } from '../../core/time.ts';
import type { ApiDeps } from '../deps.ts';
import { ndjsonLineOf, ndjsonParser } from '../body.ts';
import { IngestResultBody, TickInput, errorResponses, type RouteOptions } from '../schemas.ts';

export const NDJSON = 'application/x-ndjson';
const MAX_REPORTED_ISSUES = 100;

/** Counts every request of an ingest route, including the ones rejected before the handler. */
export function countIngest(deps: ApiDeps, route: string) {
  return async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    deps.metrics.ingestRequests.inc({ route, status: String(reply.statusCode) });
  };
}

/** Refuses ingest before the body is read when this process has no ingest role. */
export function requireIngest(deps: ApiDeps) {
  return async (): Promise<void> => {
    if (deps.ingest === null) throw new TicklineError('TL_ERR_UNAVAILABLE', 'this process does not run the ingest role');
  };
}

/** Issue values are echoed back; keep a hostile 16 MiB string or nested record out of the answer. */
function compactValue(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 80 ? `${v.slice(0, 77)}...` : v;
  if (typeof v === 'object' && v !== null) return show(v);
  return v;
}

export interface IssueJson {
  index: number;
  line?: number;
  field: string;
  value?: unknown;
  message: string;
}

/**
 * Parses every record; all-or-nothing. Synchronous on purpose: a 10k-tick body is one loop, with no
 * per-tick promise. Malformed records are counted in full but at most 100 issues are reported.
 */
export function parseBatch(records: readonly unknown[], defaults: TickDefaults): { ticks: Tick[] } | { bad: number; issues: IssueJson[] } {
  const ticks: Tick[] = [];
  const issues: IssueJson[] = [];
  let bad = 0;
  for (let i = 0; i < records.length; i++) {
    const r = parseTick(records[i], i, defaults);
    if (Array.isArray(r)) {
      bad++;
      for (const issue of r as FieldIssue[]) {
        if (issues.length >= MAX_REPORTED_ISSUES) break;
        const line = ndjsonLineOf(records, i);
        issues.push({
          index: issue.index,
          ...(line === undefined ? {} : { line }),
          field: issue.field,
          value: compactValue(issue.value),
          message: issue.message,
        });
      }
    } else if (bad === 0) {
      ticks.push(r);
    }
  }
  return bad > 0 ? { bad, issues } : { ticks };
}

const IssueBody = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Array(
    Type.Object({
      index: Type.Integer({ description: '0-based position of the record in the batch' }),
      line: Type.Optional(Type.Integer({ description: 'NDJSON line number (1-based)' })),
      field: Type.String(),
      value: Type.Optional(Type.Unknown()),
      message: Type.String(),
    }),
  ),
});

export async function ingestRoutes(app: FastifyInstance, opts: RouteOptions): Promise<void> {
  const { deps } = opts;
  app.addContentTypeParser(NDJSON, { parseAs: 'string' }, ndjsonParser);

  app.post(
    '/v1/ticks',
    {
      bodyLimit: deps.config.ingestMaxBytes,
      schema: {
        tags: ['ingest'],
        summary: 'Ingest a batch of ticks (JSON array or NDJSON); all-or-nothing on malformed records',
        description:
          'Each record is checked for structure (types, required fields, unknown fields). If any record is malformed the ' +
          'answer is 422 listing the problems (up to 100) and nothing is written. Well-formed but implausible ticks ' +
          '(negative price, crossed quote, …) are accepted and quarantined by the quality checks; the 202 answer ' +
          'counts them. Defaults: provider "api", currency "USD".',
        consumes: ['application/json', NDJSON],
        body: Type.Array(TickInput, { minItems: 1 }),
        response: {
          202: IngestResultBody,
          422: IssueBody,
          ...errorResponses(400, 413, 415, 500, 503),
        },
      },
      // parseTick checks every record and reports them all; Ajv would stop at the first and coerce values.
      validatorCompiler: () => () => true,
      onRequest: requireIngest(deps),
      onResponse: countIngest(deps, '/v1/ticks'),
    },
    async (request, reply) => {
      const ingest = deps.ingest;
      if (ingest === null) throw new TicklineError('TL_ERR_UNAVAILABLE', 'this process does not run the ingest role');
      const body: unknown = request.body;
      if (body === undefined || body === null) {
        throw new TicklineError('TL_ERR_VALIDATION', `request body is empty; send a JSON array of ticks or ${NDJSON}`);
      }
      if (typeof body === 'string') {
        throw new TicklineError('TL_ERR_UNSUPPORTED_MEDIA', `send ticks as application/json (an array) or ${NDJSON}, not ${show(request.headers['content-type'])}`);
      }
      if (!Array.isArray(body)) {
        throw new TicklineError('TL_ERR_VALIDATION', `request body must be a JSON array of tick objects (or ${NDJSON}), got ${show(body)}`);
      }
      if (body.length === 0) {
        throw new TicklineError('TL_ERR_VALIDATION', 'request body holds no ticks');
      }
      // One receive time for the whole request: it arrived at once, and it saves a clock read per tick.
      const parsed = parseBatch(body, { provider: 'api', currency: 'USD', recvTs: nowMicros() });
      if ('bad' in parsed) {
        throw new TicklineError('TL_ERR_BAD_TICK', `${parsed.bad} of ${body.length} ticks are malformed; nothing was written`, {
          details: parsed.issues,
        });
      }
      const result = await ingest(parsed.ticks);
      return reply.code(202).send(result);
    },
  );
}
