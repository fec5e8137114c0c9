/**
 * `postgres://user:pass@host:port/db?schema=tickline` (or `postgresql://`): the auth store shared by API
 * replicas. The URL is read by the Postgres store's own parser (`parsePostgresUrl`: pool size, TLS,
 * timeouts, schema), so the same URL works for both; the tables have their own names and version table,
 * so both may live in one schema.
 *
 * Tables (created when missing, see MIGRATIONS): `auth_users`, `auth_keys`, `auth_sessions`, `auth_audit`,
 * `auth_audit_head` (the chain's head, one row) and `auth_migrations`.
 *
 * Transactions take the head row `FOR UPDATE` first, so audited changes from every replica take turns
 * and each sees the others' committed work (READ COMMITTED re-reads per statement). Reads and touches
 * run without it.
 *
 * Failures: a lost or refused connection fails the call with TL_ERR_UNAVAILABLE naming host:port (the
 * caller answers 503 and the next call reconnects); a statement the server refuses fails with
 * TL_ERR_STORE. Nothing is retried here: a login or a key creation is not something to repeat silently.
 */
import pg from 'pg';
import { isTicklineError, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { isConnectionError, parsePostgresUrl, quoteIdent, type PostgresSettings } from '../adapters/store/postgres-config.ts';
import { chainEntry, GENESIS_HASH } from './audit.ts';
import type { AuditEntry, AuditEvent, AuditHead, KeyRecord, Role, Scope, SessionRecord, UserRecord } from './model.ts';
import type { AuthStore, AuthTx } from './store.ts';

interface Migration {
  version: number;
  name: string;
  statements: (s: string) => string[];
}

/** Versioned DDL. Applied versions are recorded in `auth_migrations`; each statement is idempotent too. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, keys, sessions, audit chain',
    statements: (s) => [
      `CREATE TABLE IF NOT EXISTS ${s}.auth_users (
        username text PRIMARY KEY CHECK (username = lower(username)),
        role text NOT NULL CHECK (role IN ('admin', 'analyst', 'viewer')),
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${s}.auth_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        scopes text[] NOT NULL,
        secret_hash text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz)`,
      `CREATE TABLE IF NOT EXISTS ${s}.auth_sessions (
        token_hash text PRIMARY KEY,
        username text NOT NULL REFERENCES ${s}.auth_users (username) ON DELETE CASCADE,
        client_ip text NOT NULL,
        created_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS auth_sessions_username ON ${s}.auth_sessions (username)`,
      `CREATE TABLE IF NOT EXISTS ${s}.auth_audit (
        seq bigint PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        target text,
        detail jsonb NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS ${s}.auth_audit_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        seq bigint NOT NULL,
        hash text NOT NULL)`,
      `INSERT INTO ${s}.auth_audit_head (singleton, seq, hash) VALUES (true, 0, '${GENESIS_HASH}') ON CONFLICT DO NOTHING`,
    ],
  },
];

export async function openPostgresAuthStore(url: URL, logger?: Logger): Promise<PostgresAuthStore> {
  const store = new PostgresAuthStore(parsePostgresUrl(url), logger);
  try {
    await store.migrate();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/** What both the pool and a checked-out client offer. */
type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export class PostgresAuthStore implements AuthStore {
  readonly kind = 'postgres';
  readonly schema: string;
  readonly endpoint: string;
  readonly #s: string;
  readonly #pool: pg.Pool;
  readonly #logger: Logger | undefined;
  #closed = false;

  constructor(settings: PostgresSettings, logger?: Logger) {
    this.schema = settings.schema;
    this.endpoint = settings.endpoint;
    this.#s = quoteIdent(settings.schema);
    this.#logger = logger;
    this.#pool = new pg.Pool(settings.pool);
    // Without a listener, an idle connection that dies (server restart) would crash the process.
    this.#pool.on('error', (err) => this.#logger?.warn({ endpoint: this.endpoint, err: err.message }, 'auth store: an idle postgres connection failed'));
  }

  /** Creates the schema and tables when missing; processes starting together take turns on an advisory lock. */
  async migrate(): Promise<number> {
    return this.#client('migrate', async (c) => {
      const lock = `tickline.auth.migrate.${this.schema}`;
      await inTransaction(c, async () => {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lock]);
        // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
        const found = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
        if (found.rowCount === 0) await c.query(`CREATE SCHEMA ${this.#s}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.#s}.auth_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      });
      for (const m of MIGRATIONS) {
        await inTransaction(c, async () => {
          await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lock]);
          const done = await c.query(`SELECT 1 FROM ${this.#s}.auth_migrations WHERE version = $1`, [m.version]);
          if (done.rowCount !== 0) return;
          for (const sql of m.statements(this.#s)) await c.query(sql);
          await c.query(`INSERT INTO ${this.#s}.auth_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        });
      }
      const res = await c.query<{ v: number }>(`SELECT max(version) AS v FROM ${this.#s}.auth_migrations`);
      const version = res.rows[0]?.v ?? 0;
      const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
      if (version > latest) {
        throw new TicklineError('TL_ERR_STORE', `auth store: schema ${this.schema} at ${this.endpoint} is at version ${version}, newer than this Tickline supports (${latest})`);
      }
      this.#logger?.debug({ endpoint: this.endpoint, schema: this.schema, version }, 'auth postgres store open');
      return version;
    });
  }

  getUser(username: string): Promise<UserRecord | null> {
    return this.#query('getUser', (q) => readUser(q, this.#s, username));
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#query('listUsers', (q) => readUsers(q, this.#s));
  }

  getKey(id: string): Promise<KeyRecord | null> {
    return this.#query('getKey', (q) => readKey(q, this.#s, id));
  }

  listKeys(): Promise<KeyRecord[]> {
    return this.#query('listKeys', (q) => readKeys(q, this.#s));
  }

  getSession(tokenHash: string): Promise<SessionRecord | null> {
    return this.#query('getSession', (q) => readSession(q, this.#s, tokenHash));
  }

  transaction<T>(fn: (tx: AuthTx) => Promise<T>): Promise<T> {
    return this.#client('transaction', (c) =>
      inTransaction(c, async () => {
        const res = await c.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${this.#s}.auth_audit_head FOR UPDATE`);
        const row = res.rows[0];
        if (!row) throw new TicklineError('TL_ERR_STORE', `auth store: ${this.schema}.auth_audit_head has no row at ${this.endpoint}`);
        const tx = new PgTx(c, this.#s, { seq: Number(row.seq), hash: row.hash });
        const result = await fn(tx);
        await tx.finish();
        return result;
      }),
    );
  }

  async touchSession(tokenHash: string, lastSeenAt: number): Promise<void> {
    await this.#query('touchSession', (q) =>
      q.query(`UPDATE ${this.#s}.auth_sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2`, [tokenHash, new Date(lastSeenAt)]),
    );
  }

  async dropSession(tokenHash: string): Promise<void> {
    await this.#query('dropSession', (q) => q.query(`DELETE FROM ${this.#s}.auth_sessions WHERE token_hash = $1`, [tokenHash]));
  }

  async touchKey(id: string, at: string): Promise<void> {
    await this.#query('touchKey', (q) => q.query(`UPDATE ${this.#s}.auth_keys SET last_used_at = $2 WHERE id = $1`, [id, at]));
  }

  auditPage(before: number | undefined, limit: number): Promise<AuditEntry[]> {
    return this.#query('auditPage', async (q) => {
      const res = await q.query<AuditRow>(
        `SELECT ${AUDIT_COLUMNS} FROM ${this.#s}.auth_audit WHERE ($1::bigint IS NULL OR seq < $1) ORDER BY seq DESC LIMIT $2`,
        [before ?? null, limit],
      );
      return res.rows.map(auditEntry);
    });
  }

  auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.#query('auditRange', async (q) => {
      const res = await q.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM ${this.#s}.auth_audit WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
      return res.rows.map(auditEntry);
    });
  }

  auditHead(): Promise<AuditHead> {
    return this.#query('auditHead', async (q) => {
      const res = await q.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${this.#s}.auth_audit_head`);
      const row = res.rows[0];
      if (!row) throw new TicklineError('TL_ERR_STORE', `auth store: ${this.schema}.auth_audit_head has no row at ${this.endpoint}`);
      return { seq: Number(row.seq), hash: row.hash };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** One statement (or several independent ones) on any pooled connection. */
  async #query<T>(what: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await fn(this.#pool);
    } catch (e) {
      throw this.#classify(what, e);
    }
  }

  /** Work that needs one connection throughout (a transaction, the migrations). */
  async #client<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#classify(what, e);
    }
    try {
      const result = await fn(client);
      client.release();
      return result;
    } catch (e) {
      // A connection that failed mid-transaction must not go back to the pool.
      client.release(isConnectionError(e) ? (e as Error) : undefined);
      throw this.#classify(what, e);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `auth store at ${this.endpoint} is closed`);
  }

  /**
   * Driver errors become TL_ERR_UNAVAILABLE (connection) or TL_ERR_STORE (a refused statement), naming
   * host:port and never the password; anything else (ours, or thrown by a transaction's function) passes
   * through unchanged.
   */
  #classify(what: string, e: unknown): unknown {
    if (isTicklineError(e)) return e;
    const message = e instanceof Error ? e.message : String(e);
    if (isConnectionError(e)) {
      return new TicklineError('TL_ERR_UNAVAILABLE', `auth store: postgres at ${this.endpoint} is unavailable (${what}): ${message}`, { cause: e });
    }
    if (e instanceof pg.DatabaseError) {
      return new TicklineError('TL_ERR_STORE', `auth store: postgres at ${this.endpoint} failed (${what}): ${message}`, { cause: e });
    }
    return e;
  }
}

/** BEGIN … COMMIT around `fn`, ROLLBACK when it throws (a failed rollback is reported only if it is the news). */
async function inTransaction<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    try {
      await c.query('ROLLBACK');
    } catch (rollbackError) {
      if (isConnectionError(rollbackError) && !isConnectionError(e)) throw rollbackError;
    }
    throw e;
  }
  await c.query('COMMIT');
  return result;
}

/** The operations of one transaction, on its connection. The head moves in memory and is written at the end. */
class PgTx implements AuthTx {
  readonly #c: pg.PoolClient;
  readonly #s: string;
  readonly #startSeq: number;
  #head: AuditHead;
  #done = false;

  constructor(c: pg.PoolClient, s: string, head: AuditHead) {
    this.#c = c;
    this.#s = s;
    this.#head = head;
    this.#startSeq = head.seq;
  }

  /** Writes the moved head; after this the transaction refuses further work. */
  async finish(): Promise<void> {
    this.#use();
    this.#done = true;
    if (this.#head.seq !== this.#startSeq) {
      await this.#c.query(`UPDATE ${this.#s}.auth_audit_head SET seq = $1, hash = $2`, [this.#head.seq, this.#head.hash]);
    }
  }

  getUser(username: string): Promise<UserRecord | null> {
    return readUser(this.#use(), this.#s, username);
  }

  listUsers(): Promise<UserRecord[]> {
    return readUsers(this.#use(), this.#s);
  }

  getKey(id: string): Promise<KeyRecord | null> {
    return readKey(this.#use(), this.#s, id);
  }

  listKeys(): Promise<KeyRecord[]> {
    return readKeys(this.#use(), this.#s);
  }

  getSession(tokenHash: string): Promise<SessionRecord | null> {
    return readSession(this.#use(), this.#s, tokenHash);
  }

  async putUser(u: UserRecord): Promise<void> {
    await this.#use().query(
      `INSERT INTO ${this.#s}.auth_users (username, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
         created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`,
      [u.username, u.role, u.passwordHash, u.createdAt, u.updatedAt],
    );
  }

  async deleteUser(username: string): Promise<void> {
    // Sessions go with the user (ON DELETE CASCADE).
    await this.#use().query(`DELETE FROM ${this.#s}.auth_users WHERE username = $1`, [username]);
  }

  async putSession(x: SessionRecord): Promise<void> {
    await this.#use().query(
      `INSERT INTO ${this.#s}.auth_sessions (token_hash, username, client_ip, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (token_hash) DO UPDATE SET username = EXCLUDED.username, client_ip = EXCLUDED.client_ip,
         created_at = EXCLUDED.created_at, last_seen_at = EXCLUDED.last_seen_at`,
      [x.tokenHash, x.username, x.clientIp, new Date(x.createdAt), new Date(x.lastSeenAt)],
    );
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#use().query(`DELETE FROM ${this.#s}.auth_sessions WHERE token_hash = $1`, [tokenHash]);
  }

  async deleteUserSessions(username: string): Promise<number> {
    const res = await this.#use().query(`DELETE FROM ${this.#s}.auth_sessions WHERE username = $1`, [username]);
    return res.rowCount ?? 0;
  }

  async deleteExpiredSessions(idleBefore: number, createdBefore: number): Promise<number> {
    const res = await this.#use().query(`DELETE FROM ${this.#s}.auth_sessions WHERE last_seen_at < $1 OR created_at < $2`, [
      new Date(idleBefore),
      new Date(createdBefore),
    ]);
    return res.rowCount ?? 0;
  }

  async insertKey(k: KeyRecord): Promise<void> {
    await this.#use().query(
      `INSERT INTO ${this.#s}.auth_keys (id, name, scopes, secret_hash, created_by, created_at, revoked_at, revoked_by, last_used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [k.id, k.name, k.scopes, k.secretHash, k.createdBy, k.createdAt, k.revokedAt, k.revokedBy, k.lastUsedAt],
    );
  }

  async revokeKey(id: string, at: string, by: string): Promise<void> {
    await this.#use().query(`UPDATE ${this.#s}.auth_keys SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL`, [id, at, by]);
  }

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    const e = chainEntry(this.#head, event);
    await this.#use().query(
      `INSERT INTO ${this.#s}.auth_audit (seq, at, actor, action, target, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.seq, e.at, e.actor, e.action, e.target, JSON.stringify(e.detail), e.prevHash, e.hash],
    );
    this.#head = { seq: e.seq, hash: e.hash };
    return e;
  }

  #use(): pg.PoolClient {
    if (this.#done) throw new TicklineError('TL_ERR_CLOSED', 'auth store: this transaction has ended');
    return this.#c;
  }
}

interface UserRow {
  username: string;
  role: string;
  password_hash: string;
  created_at: Date;
  updated_at: Date;
}

interface KeyRow {
  id: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}

interface SessionRow {
  token_hash: string;
  username: string;
  client_ip: string;
  created_at: Date;
  last_seen_at: Date;
}

interface AuditRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, string | number | boolean | null>;
  prev_hash: string;
  hash: string;
}

const USER_COLUMNS = 'username, role, password_hash, created_at, updated_at';
const KEY_COLUMNS = 'id, name, scopes, secret_hash, created_by, created_at, revoked_at, revoked_by, last_used_at';
const AUDIT_COLUMNS = 'seq, at, actor, action, target, detail, prev_hash, hash';

async function readUser(q: Queryable, s: string, username: string): Promise<UserRecord | null> {
  const res = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ${s}.auth_users WHERE username = $1`, [username]);
  return res.rows[0] ? userRecord(res.rows[0]) : null;
}

async function readUsers(q: Queryable, s: string): Promise<UserRecord[]> {
  const res = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ${s}.auth_users ORDER BY username COLLATE "C"`);
  return res.rows.map(userRecord);
}

async function readKey(q: Queryable, s: string, id: string): Promise<KeyRecord | null> {
  const res = await q.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${s}.auth_keys WHERE id = $1`, [id]);
  return res.rows[0] ? keyRecord(res.rows[0]) : null;
}

async function readKeys(q: Queryable, s: string): Promise<KeyRecord[]> {
  const res = await q.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${s}.auth_keys ORDER BY created_at, id COLLATE "C"`);
  return res.rows.map(keyRecord);
}

async function readSession(q: Queryable, s: string, tokenHash: string): Promise<SessionRecord | null> {
  const res = await q.query<SessionRow>(
    `SELECT token_hash, username, client_ip, created_at, last_seen_at FROM ${s}.auth_sessions WHERE token_hash = $1`,
    [tokenHash],
  );
  const r = res.rows[0];
  return r ? { tokenHash: r.token_hash, username: r.username, clientIp: r.client_ip, createdAt: r.created_at.getTime(), lastSeenAt: r.last_seen_at.getTime() } : null;
}

function userRecord(r: UserRow): UserRecord {
  return {
    username: r.username,
    role: r.role as Role,
    passwordHash: r.password_hash,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function keyRecord(r: KeyRow): KeyRecord {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes as Scope[],
    secretHash: r.secret_hash,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at?.toISOString() ?? null,
    revokedBy: r.revoked_by,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
  };
}

function auditEntry(r: AuditRow): AuditEntry {
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action as AuditEntry['action'],
    target: r.target,
    detail: r.detail,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
