import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, isTicklineError, show, type ErrorCode } from '../core/errors.ts';

export interface ErrorJson {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** One problem found by schema validation, located the way the client wrote the request. */
export interface ValidationProblem {
  location: string;
  field: string;
  message: string;
}

/**
 * Ajv errors as `querystring/limit must be <= 10000`-style problems. Fastify stops at the first error
 * (allErrors is off, so a hostile body cannot make validation expensive), so this is usually one entry.
 */
export function validationProblems(error: FastifyError): ValidationProblem[] {
  const location = error.validationContext ?? 'request';
  return (error.validation ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '');
    if (v.keyword === 'required') {
      const field = path === '' ? String(v.params.missingProperty) : `${path}/${String(v.params.missingProperty)}`;
      return { location, field, message: `${location}/${field} is required` };
    }
    if (v.keyword === 'additionalProperties') {
      const field = String(v.params.additionalProperty);
      return { location, field, message: `${location}${v.instancePath} has an unknown property ${JSON.stringify(field)}` };
    }
    let message = `${location}${v.instancePath} ${v.message ?? 'is invalid'}`;
    if (v.keyword === 'enum' && Array.isArray(v.params.allowedValues)) {
      message += ` (${(v.params.allowedValues as unknown[]).join(', ')})`;
    }
    return { location, field: path, message };
  });
}

/**
 * Maps Fastify's own request errors (bad body, bad URL, wrong media type) to registry codes. Only
 * errors whose code starts with FST_ are trusted to carry a client-facing status: a library error that
 * happens to have `statusCode` must not turn an internal failure into a 4xx.
 */
function fastifyCode(error: FastifyError): ErrorCode | undefined {
  if (typeof error.code !== 'string' || !error.code.startsWith('FST_')) return undefined;
  const status = error.statusCode ?? 500;
  if (status === 413) return 'TL_ERR_PAYLOAD_TOO_LARGE';
  if (status === 415) return 'TL_ERR_UNSUPPORTED_MEDIA';
  if (status === 404) return 'TL_ERR_NOT_FOUND';
  if (status >= 400 && status < 500) return 'TL_ERR_VALIDATION';
  return undefined;
}

const FASTIFY_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported Content-Type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request body is empty but Content-Type is application/json',
};

/** The status and JSON body for any error a request can end with. */
export function errorResponse(error: FastifyError | Error, request: FastifyRequest): { status: number; body: ErrorJson } {
  if (isTicklineError(error)) {
    return { status: error.status, body: error.toJSON() };
  }
  const fe = error as FastifyError;
  if (fe.validation) {
    const problems = validationProblems(fe);
    const message = problems.map((p) => p.message).join('; ') || fe.message;
    return { status: 400, body: { code: 'TL_ERR_VALIDATION', message, details: problems } };
  }
  const code = fastifyCode(fe);
  if (code !== undefined) {
    let message = FASTIFY_MESSAGES[fe.code] ?? fe.message;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit;
      if (limit !== undefined) message = `request body is larger than the limit of ${limit} bytes`;
    } else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '(none)')}`;
    }
    return { status: fe.statusCode ?? ERRORS[code].status, body: { code, message } };
  }
  return {
    status: 500,
    // The request id is what an operator greps the log for; the cause itself may hold internals.
    body: { code: 'TL_ERR_INTERNAL', message: `internal error; the server log has the details under request id ${request.id}` },
  };
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body } = errorResponse(error, request);
  if (status >= 500) {
    request.log.error({ err: error, code: body.code }, 'request failed');
  } else {
    request.log.debug({ code: body.code, msg: body.message }, 'request rejected');
  }
  const retry = (body.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (status === 429 && typeof retry === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? request.url;
  const body: ErrorJson = {
    code: 'TL_ERR_NOT_FOUND',
    message: `no route ${request.method} ${show(path)}; the API is described at /docs and /openapi.json`,
  };
  return reply.code(404).type('application/json; charset=utf-8').send(body);
}
