import type { FastifyRequest } from 'fastify';
import { TicklineError } from '../core/errors.ts';

/**
 * Request body parsers. They replace Fastify's JSON parser because that one drops the parser's message,
 * and a client sending 10 000 ticks needs to know where its JSON broke.
 */

// Same pre-check as secure-json-parse (which Fastify's own parser uses): a `__proto__` key, possibly
// spelled with \u escapes. Only when it matches is the parsed value walked, so clean bodies pay one regex.
const PROTO_RE =
  /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;

function hasProtoKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return true;
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

export interface JsonErrorDetail {
  message: string;
  /** 0-based character offset in the text, when V8 reports one. */
  position?: number;
  line?: number;
  column?: number;
}

function describeSyntaxError(e: unknown): JsonErrorDetail {
  const message = e instanceof Error ? e.message : String(e);
  const out: JsonErrorDetail = { message };
  const pos = /at position (\d+)/.exec(message);
  if (pos) out.position = Number(pos[1]);
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) {
    out.line = Number(lc[1]);
    out.column = Number(lc[2]);
  }
  return out;
}

/** JSON.parse that throws TL_ERR_VALIDATION naming where the text broke, and refuses `__proto__` keys. */
export function parseJsonText(text: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const d = describeSyntaxError(e);
    throw new TicklineError('TL_ERR_VALIDATION', `${what} is not valid JSON: ${d.message}`, { details: [d] });
  }
  if (PROTO_RE.test(text) && hasProtoKey(value)) {
    throw new TicklineError('TL_ERR_VALIDATION', `${what} contains a "__proto__" key, which is refused`);
  }
  return value;
}

type Done = (err: Error | null, body?: unknown) => void;

export function jsonParser(_req: FastifyRequest, body: string | Buffer, done: Done): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0) {
    done(new TicklineError('TL_ERR_VALIDATION', 'request body is empty but Content-Type is application/json'));
    return;
  }
  try {
    done(null, parseJsonText(text, 'request body'));
  } catch (e) {
    done(e as Error);
  }
}

/** Line number (1-based) of each record of an NDJSON body, so record issues can point at lines. */
const ndjsonLines = new WeakMap<object, number[]>();

export function ndjsonLineOf(records: unknown, index: number): number | undefined {
  if (typeof records !== 'object' || records === null) return undefined;
  return ndjsonLines.get(records)?.[index];
}

const MAX_REPORTED_LINES = 100;

/** NDJSON: one JSON value per line, blank lines ignored. Every bad line is reported (up to 100), not just the first. */
export function ndjsonParser(_req: FastifyRequest, body: string | Buffer, done: Done): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const records: unknown[] = [];
  const lines: number[] = [];
  const bad: Array<JsonErrorDetail & { line: number }> = [];
  let badCount = 0;
  let start = 0;
  let lineNo = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line));
      lines.push(lineNo);
    } catch (e) {
      badCount++;
      if (bad.length < MAX_REPORTED_LINES) {
        const d = describeSyntaxError(e);
        // Within one line, V8's "line 1 column N" is redundant with the record's line number.
        bad.push({ line: lineNo, message: d.message, ...(d.position === undefined ? {} : { position: d.position }) });
      }
    }
  }
  if (badCount > 0) {
    const first = bad[0]!;
    const more = badCount > 1 ? ` (${badCount} bad lines in all)` : '';
    done(new TicklineError('TL_ERR_VALIDATION', `NDJSON line ${first.line} is not valid JSON: ${first.message}${more}`, { details: bad }));
    return;
  }
  if (PROTO_RE.test(text) && hasProtoKey(records)) {
    done(new TicklineError('TL_ERR_VALIDATION', 'request body contains a "__proto__" key, which is refused'));
    return;
  }
  ndjsonLines.set(records, lines);
  done(null, records);
}
