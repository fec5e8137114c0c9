/**
 * The admin commands over the HTTP API (the default). Credentials: the configured API key (it needs the
 * `admin` scope), or, with `--user`, a session opened by logging in for this one command and closed
 * after it.
 */
import { show, TicklineError } from '../core/errors.ts';
import type { AdminClient, AuditEntryView, KeyView, UserView, VerifyView } from './admin-client.ts';
import { answerError, apiFetch, apiRequest, type ApiConnection } from './client.ts';

const SESSION_COOKIE = 'tickline_session';

/**
 * Logs in and returns a connection carrying the session (cookie and CSRF token) instead of any API key.
 * A refused login names the user and repeats the server's reason (unknown user or wrong password, or
 * the lock-out after repeated failures).
 */
export async function loginSession(conn: ApiConnection, username: string, password: string): Promise<ApiConnection> {
  const anonymous: ApiConnection = { base: conn.base, credentials: {} };
  const { url, res, text } = await apiFetch(anonymous, 'POST', 'auth/login', { body: { username, password } });
  if (res.status === 401) {
    let msg = 'refused';
    try {
      msg = String((JSON.parse(text) as { message?: unknown }).message ?? msg);
    } catch {
      // not JSON: keep the generic reason
    }
    throw new TicklineError('TL_ERR_UNAUTHENTICATED', `login as ${show(username)} failed: ${msg}`);
  }
  if (!res.ok) throw answerError(url, res.status, text, anonymous.credentials, res.headers.get('retry-after'));
  let body: { csrf?: unknown } = {};
  try {
    body = JSON.parse(text) as { csrf?: unknown };
  } catch {
    // checked below
  }
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie || typeof body.csrf !== 'string') {
    throw new TicklineError('TL_ERR_API_CLIENT', `${url.pathname}: the login answer holds no ${SESSION_COOKIE} cookie or csrf token`);
  }
  return { base: conn.base, credentials: { session: { cookie, csrf: body.csrf } } };
}

export class HttpAdminClient implements AdminClient {
  readonly target: string;
  readonly #conn: ApiConnection;

  constructor(conn: ApiConnection) {
    this.#conn = conn;
    this.target = conn.base;
  }

  async listUsers(): Promise<UserView[]> {
    return (await apiRequest<{ users: UserView[] }>(this.#conn, 'GET', 'v1/admin/users')).users;
  }

  async addUser(username: string, password: string, role: UserView['role']): Promise<UserView> {
    return (await apiRequest<{ user: UserView }>(this.#conn, 'POST', 'v1/admin/users', { body: { username, password, role } })).user;
  }

  async removeUser(username: string): Promise<void> {
    await apiRequest(this.#conn, 'DELETE', `v1/admin/users/${encodeURIComponent(username)}`);
  }

  async setPassword(username: string, password: string): Promise<void> {
    await apiRequest(this.#conn, 'PUT', `v1/admin/users/${encodeURIComponent(username)}/password`, { body: { password } });
  }

  async setRole(username: string, role: UserView['role']): Promise<UserView> {
    return (await apiRequest<{ user: UserView }>(this.#conn, 'PUT', `v1/admin/users/${encodeURIComponent(username)}/role`, { body: { role } })).user;
  }

  async listKeys(): Promise<KeyView[]> {
    return (await apiRequest<{ keys: KeyView[] }>(this.#conn, 'GET', 'v1/admin/keys')).keys;
  }

  createKey(name: string, scopes: KeyView['scopes']): Promise<{ key: KeyView; secret: string }> {
    return apiRequest<{ key: KeyView; secret: string }>(this.#conn, 'POST', 'v1/admin/keys', { body: { name, scopes } });
  }

  async revokeKey(id: string): Promise<boolean> {
    return (await apiRequest<{ revoked: boolean }>(this.#conn, 'DELETE', `v1/admin/keys/${encodeURIComponent(id)}`)).revoked;
  }

  auditList(opts: { limit: number; before?: number }): Promise<{ entries: AuditEntryView[]; verify: VerifyView }> {
    return apiRequest(this.#conn, 'GET', 'v1/admin/audit', { query: { limit: opts.limit, before: opts.before } });
  }

  auditVerify(): Promise<VerifyView> {
    return apiRequest<VerifyView>(this.#conn, 'GET', 'v1/admin/audit/verify');
  }

  /** Logs out when the connection is a session opened for this command. */
  async close(): Promise<void> {
    if (!this.#conn.credentials.session) return;
    await apiRequest(this.#conn, 'POST', 'auth/logout');
  }
}
