/**
 * The page's only way to the server: same-origin `fetch` with the session cookie. Errors come back as
 * `ApiError` carrying the HTTP status and the server's `{ code, message }`, so pages can show the
 * server's own words. Every request that changes state sends the session's CSRF token in `x-csrf-token`.
 */
import { parseRetryAfter } from './time.ts';

export type Role = 'admin' | 'analyst' | 'viewer';

export interface SessionUser {
  username: string;
  role: Role;
}

/** What `/auth/me` and `/auth/login` answer. */
export interface Session {
  user: SessionUser;
  csrf: string;
  /**
   * Present (true) when the server runs with authentication switched off (TICKLINE_AUTH=off, loopback
   * only): every caller is the local operator, so there is nothing to sign out of.
   */
  authOff?: true;
}

export class ApiError extends Error {
  readonly status: number;
  /** The server's error code (`TL_ERR_…`), or `HTTP_<status>` / `NETWORK` when there was none. */
  readonly code: string;
  /** Seconds to wait before retrying (429), from `Retry-After` or the body's details. */
  readonly retryAfterSec: number | null;

  constructor(status: number, code: string, message: string, retryAfterSec: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterSec = retryAfterSec;
  }
}

type Query = Record<string, string | number | undefined | null>;

export class ApiClient {
  #csrf: string | null = null;
  #onUnauthenticated: () => void;

  /** `onUnauthenticated` runs when a data request gets 401 (the session ended): the app shows the login. */
  constructor(onUnauthenticated: () => void) {
    this.#onUnauthenticated = onUnauthenticated;
  }

  setCsrf(token: string | null): void {
    this.#csrf = token;
  }

  /** GET a JSON document. `query` values that are undefined, null or '' are left out. */
  async get<T>(path: string, query?: Query): Promise<T> {
    return (await this.#request('GET', withQuery(path, query))) as T;
  }

  /** POST JSON (with the CSRF token); resolves to the JSON answer, or null for an empty one (204). */
  async post<T>(path: string, body?: unknown): Promise<T | null> {
    return (await this.#request('POST', path, body)) as T | null;
  }

  /** The current session, or null when there is none (401). */
  async me(): Promise<Session | null> {
    try {
      return parseSession(await this.#request('GET', '/auth/me', undefined, false));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }

  /** Logs in; throws ApiError 401 (wrong credentials) or 429 (locked, with `retryAfterSec`). */
  async login(username: string, password: string): Promise<Session> {
    const session = parseSession(await this.#request('POST', '/auth/login', { username, password }, false));
    this.#csrf = session.csrf;
    return session;
  }

  async logout(): Promise<void> {
    try {
      await this.#request('POST', '/auth/logout', undefined, false);
    } finally {
      this.#csrf = null;
    }
  }

  async #request(method: string, path: string, body?: unknown, handle401 = true): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.#csrf !== null) headers['x-csrf-token'] = this.#csrf;
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, 'NETWORK', `the server could not be reached (${(err as Error).message})`);
    }
    if (res.status === 204) return null;
    const text = await res.text();
    const json = parseJson(text);
    if (res.ok) return json;
    const error = apiError(res, json, text);
    if (res.status === 401 && handle401) this.#onUnauthenticated();
    throw error;
  }
}

function apiError(res: Response, json: unknown, text: string): ApiError {
  const body = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const code = typeof body.code === 'string' ? body.code : `HTTP_${res.status}`;
  const message = typeof body.message === 'string' ? body.message : text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`;
  const details = body.details as { retryAfterSeconds?: unknown } | undefined;
  const fromBody = typeof details?.retryAfterSeconds === 'number' ? details.retryAfterSeconds : null;
  return new ApiError(res.status, code, message, parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? fromBody);
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Checks the session body's shape: the role decides what the page shows, so it must be one we know. */
export function parseSession(body: unknown): Session {
  const b = body as { user?: { username?: unknown; role?: unknown }; csrf?: unknown; auth?: unknown } | null;
  const role = b?.user?.role;
  if (typeof b?.user?.username !== 'string' || typeof b.csrf !== 'string' || (role !== 'admin' && role !== 'analyst' && role !== 'viewer')) {
    throw new ApiError(502, 'BAD_SESSION', 'the server answered the session request with an unexpected body');
  }
  return { user: { username: b.user.username, role }, csrf: b.csrf, ...(b.auth === 'off' ? { authOff: true as const } : {}) };
}

export function withQuery(path: string, query?: Query): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs === '' ? path : `${path}?${qs}`;
}
