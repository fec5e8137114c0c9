import { TicklineError } from '../core/errors.ts';

/**
 * A small client for the commands that ask a running Tickline's API rather than opening the store, so
 * they work against any deployment and never contend for the embedded DuckDB file.
 *
 * Every request carries the configured credentials: an API key as `Authorization: Bearer …`, or the
 * cookie and CSRF token of a session opened for one command (`--user`). Credentials never appear in a
 * message this module produces.
 */

export interface ApiCredentials {
  /** `tl_<id>_<secret>`, sent as a Bearer token. */
  apiKey?: string;
  /** A login session: the `Cookie` header value and the CSRF token its login returned. */
  session?: { cookie: string; csrf: string };
}

export interface ApiConnection {
  base: string;
  credentials: ApiCredentials;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

type Query = Record<string, string | number | undefined>;

const TIMEOUT_MS = 10_000;

function apiUrl(base: string, path: string, query: Query = {}): URL {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function authHeaders(credentials: ApiCredentials, method: HttpMethod): Record<string, string> {
  if (credentials.session) {
    const h: Record<string, string> = { cookie: credentials.session.cookie };
    // Unsafe requests of a cookie session must prove they come from its holder.
    if (method !== 'GET') h['x-csrf-token'] = credentials.session.csrf;
    return h;
  }
  return credentials.apiKey ? { authorization: `Bearer ${credentials.apiKey}` } : {};
}

function hasCredentials(c: ApiCredentials): boolean {
  return c.session !== undefined || (c.apiKey !== undefined && c.apiKey !== '');
}

function unreachable(url: URL, cause: unknown): TicklineError {
  return new TicklineError(
    'TL_ERR_API_CLIENT',
    `cannot reach the Tickline API at ${url.origin} (${(cause as Error).message}); start one with "tickline start" or pass --api`,
    { cause },
  );
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function serverMessage(body: unknown, text: string): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  return text.slice(0, 300);
}

/**
 * The error for a non-2xx answer. 401 and 403 get their own codes and say what to do: they are what a
 * user meets first when the server requires credentials.
 */
export function answerError(url: URL, status: number, text: string, credentials: ApiCredentials, retryAfter?: string | null): TicklineError {
  const body = parseBody(text);
  const msg = serverMessage(body, text);
  if (status === 401) {
    const hint = hasCredentials(credentials)
      ? credentials.session
        ? 'the login session was refused'
        : 'the API refused the API key (wrong, or revoked?): check TICKLINE_API_KEY / --api-key-file'
      : 'the API needs credentials: set TICKLINE_API_KEY (create one with `tickline keys create`)';
    return new TicklineError('TL_ERR_UNAUTHENTICATED', `${url.pathname}: ${hint} (server: ${msg})`, { details: body });
  }
  if (status === 403) {
    return new TicklineError('TL_ERR_FORBIDDEN', `${url.pathname}: the credentials do not allow this: ${msg}`, { details: body });
  }
  if (status === 429) {
    const wait = retryAfter ? ` (retry after ${retryAfter} s)` : '';
    return new TicklineError('TL_ERR_RATE_LIMITED', `${url.pathname}: ${msg}${wait}`, { details: body });
  }
  return new TicklineError('TL_ERR_API_CLIENT', `${url.pathname} answered ${status}: ${msg}`, { details: body });
}

export interface ApiRequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
}

/** One request; the raw answer, whatever its status. Only an unreachable API throws. */
export async function apiFetch(conn: ApiConnection, method: HttpMethod, path: string, opts: ApiRequestOptions = {}): Promise<{ url: URL; res: Response; text: string }> {
  const url = apiUrl(conn.base, path, opts.query);
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(conn.credentials, method) };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    text = await res.text();
  } catch (cause) {
    throw unreachable(url, cause);
  }
  return { url, res, text };
}

/** One JSON request; the parsed answer (undefined for an empty one such as 204), or a TicklineError. */
export async function apiRequest<T>(conn: ApiConnection, method: HttpMethod, path: string, opts: ApiRequestOptions = {}): Promise<T> {
  const { url, res, text } = await apiFetch(conn, method, path, opts);
  if (!res.ok) throw answerError(url, res.status, text, conn.credentials, res.headers.get('retry-after'));
  return parseBody(text) as T;
}

export function apiGet<T>(conn: ApiConnection, path: string, query: Query = {}): Promise<T> {
  return apiRequest<T>(conn, 'GET', path, { query });
}

export interface StreamProgress {
  phase: string;
  unit: string;
  done: number;
  total: number;
  rows: number;
}

/**
 * POSTs a long-running operation with `progress: true` and reads its NDJSON answer: progress lines go to
 * `onProgress`, the final `{"result": …}` line is returned and an `{"error": …}` line is thrown.
 * No overall timeout (a replay can take long); a dead connection ends the stream and says so.
 */
export async function apiPostStream<T>(conn: ApiConnection, path: string, body: Record<string, unknown>, onProgress: (p: StreamProgress) => void): Promise<T> {
  const url = apiUrl(conn.base, path);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/x-ndjson, application/json', ...authHeaders(conn.credentials, 'POST') },
      body: JSON.stringify({ ...body, progress: true }),
    });
  } catch (cause) {
    throw unreachable(url, cause);
  }
  if (!res.ok || !res.body) {
    throw answerError(url, res.status, await res.text(), conn.credentials, res.headers.get('retry-after'));
  }
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line === '') continue;
      const msg = JSON.parse(line) as { progress?: StreamProgress; result?: T; error?: { code: string; message: string } };
      if (msg.progress) onProgress(msg.progress);
      else if (msg.error) throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname} failed: ${msg.error.message} (${msg.error.code})`, { details: msg.error });
      else if (msg.result !== undefined) return msg.result;
    }
  }
  throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname}: the answer ended before the operation finished (the server stopped?); it is safe to run again`);
}
