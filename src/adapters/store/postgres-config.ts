/** Settings of the Postgres store from its URL, and how its errors are classified. */
import type { PoolConfig } from 'pg';
import { show, TicklineError } from '../../core/errors.ts';
import { redactUrl } from '../registry.ts';

export interface PostgresSettings {
  /** Passed to `pg.Pool`; the password stays inside it and is never logged or put in a message. */
  pool: PoolConfig;
  schema: string;
  /** `host:port`, for messages and logs. */
  endpoint: string;
  /** How long a call waits for the server during an outage before it fails with TL_ERR_UNAVAILABLE. */
  waitMs: number;
}

const PARAMS = ['schema', 'pool', 'application_name', 'sslmode', 'wait_ms', 'statement_timeout_ms', 'connect_timeout_ms'] as const;
const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  const v = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new TicklineError('TL_ERR_BAD_URL', `store: ${name} must be an integer from ${min} to ${max}, got ${show(raw)} in ${redactUrl(url.href)}`);
  }
  return v;
}

/**
 * `postgres://user:pass@host:port/db?schema=tickline&pool=4`. Anything the URL leaves out falls back to
 * the pg defaults (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, ~/.pgpass).
 *
 * Parameters: `schema` (default `tickline`, created when missing), `pool` (connections, default 4),
 * `application_name` (default `tickline`; shows in pg_stat_activity), `sslmode` (disable | prefer |
 * require | verify-ca | verify-full; `prefer` means no TLS, as node-pg cannot fall back),
 * `wait_ms` (bounded wait during an outage, default 5000), `statement_timeout_ms` (default 120000),
 * `connect_timeout_ms` (default 5000).
 */
export function parsePostgresUrl(url: URL): PostgresSettings {
  for (const key of url.searchParams.keys()) {
    if (key === 'hosts') {
      throw new TicklineError('TL_ERR_BAD_URL', `store: ${redactUrl(url.href)} names several hosts; the postgres store connects to one`);
    }
    if (!(PARAMS as readonly string[]).includes(key)) {
      throw new TicklineError('TL_ERR_BAD_URL', `store: unknown parameter ${show(key)} in ${redactUrl(url.href)}; known: ${PARAMS.join(', ')}`);
    }
  }
  const schema = url.searchParams.get('schema') ?? 'tickline';
  if (!SCHEMA_RE.test(schema)) {
    throw new TicklineError('TL_ERR_BAD_URL', `store: schema must be a plain identifier (letters, digits, _), got ${show(schema)}`);
  }
  const sslmode = url.searchParams.get('sslmode') ?? 'prefer';
  let ssl: PoolConfig['ssl'];
  if (sslmode === 'require') ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') ssl = { rejectUnauthorized: true };
  else if (sslmode !== 'disable' && sslmode !== 'prefer') {
    throw new TicklineError('TL_ERR_BAD_URL', `store: sslmode must be disable, prefer, require, verify-ca or verify-full, got ${show(sslmode)}`);
  }
  const statementTimeout = intParam(url, 'statement_timeout_ms', 120_000, 1, 86_400_000);
  const host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1') || process.env.PGHOST || 'localhost';
  const port = url.port ? Number(url.port) : Number(process.env.PGPORT) || 5432;
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  const pool: PoolConfig = {
    host,
    port,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database,
    ssl,
    max: intParam(url, 'pool', 4, 1, 100),
    application_name: url.searchParams.get('application_name') ?? 'tickline',
    connectionTimeoutMillis: intParam(url, 'connect_timeout_ms', 5_000, 100, 600_000),
    statement_timeout: statementTimeout,
    // A server that vanished without closing the socket would otherwise leave a query waiting forever.
    query_timeout: statementTimeout + 10_000,
    keepAlive: true,
    // Room to sort and aggregate a large batch in memory (bars derived from a partly re-delivered batch).
    options: '-c work_mem=32MB',
    idleTimeoutMillis: 30_000,
    // Idle connections must not keep a process alive that is otherwise done.
    allowExitOnIdle: true,
  };
  return {
    pool,
    schema,
    endpoint: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    waitMs: intParam(url, 'wait_ms', 5_000, 0, 3_600_000),
  };
}

/** Double-quotes an identifier (names here are validated, so this is belt and braces). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const NET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
]);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections: the server, not the query.
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const CONN_MESSAGES = /Connection terminated|not queryable|timeout exceeded when trying to connect|Query read timeout|connection timeout/i;

/**
 * True when the error says the connection or the server is gone (so the operation may be retried on a
 * new connection), false when the server answered and refused the statement.
 */
export function isConnectionError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  if (NET_CODES.has(code) || SERVER_CODES.has(code) || code.startsWith('08')) return true;
  // Connecting to `localhost` tries every address and reports them together.
  if (Array.isArray(err.errors) && err.errors.some((x) => isConnectionError(x))) return true;
  return typeof err.message === 'string' && CONN_MESSAGES.test(err.message);
}

/** The SQLSTATE of a server error, or ''. */
export function sqlState(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : '';
}
