/**
 * The storage port of the authentication core. Two adapters implement it, chosen by URL (open-store.ts):
 *
 * - `file://<path>.json`: one JSON document, for one embedded process (store-file.ts);
 * - `postgres://…?schema=tickline` (or `postgresql://`): shared by API replicas (store-postgres.ts).
 *
 * The port is deliberately small and dumb: every rule (roles, last admin, expiry, rate limits) lives in
 * AuthService, once, and both adapters only keep records. What the adapters guarantee is stated here and
 * checked by the conformance suite (store.suite.ts).
 */
import type { AuditEntry, AuditEvent, AuditHead, KeyRecord, SessionRecord, UserRecord } from './model.ts';

/** Reads that need no transaction. Lists come back in a stable order (stated per method). */
export interface AuthReader {
  /** The user with this canonical (lower-case) name, or null. */
  getUser(username: string): Promise<UserRecord | null>;
  /** Every user, by username. */
  listUsers(): Promise<UserRecord[]>;
  getKey(id: string): Promise<KeyRecord | null>;
  /** Every key, revoked ones included, by creation time then id. */
  listKeys(): Promise<KeyRecord[]>;
  /** The session with this token hash, or null. Expiry is the caller's business. */
  getSession(tokenHash: string): Promise<SessionRecord | null>;
}

/**
 * The operations of one transaction. Everything done through one `AuthTx` becomes visible and durable
 * together when the function passed to `transaction` resolves, or not at all when it throws.
 */
export interface AuthTx extends AuthReader {
  /** Inserts or replaces the user with `user.username`. */
  putUser(user: UserRecord): Promise<void>;
  /** Removes the user and every session of theirs. */
  deleteUser(username: string): Promise<void>;
  putSession(session: SessionRecord): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Removes every session of a user (after a password change). Returns how many. */
  deleteUserSessions(username: string): Promise<number>;
  /**
   * Removes the sessions idle since before `idleBefore` or created before `createdBefore` (epoch ms).
   * Returns how many.
   */
  deleteExpiredSessions(idleBefore: number, createdBefore: number): Promise<number>;
  /** Inserts a key; an existing id is an error (ids are random, a clash means a bug). */
  insertKey(key: KeyRecord): Promise<void>;
  /** Marks a key revoked (no effect on one already revoked). */
  revokeKey(id: string, at: string, by: string): Promise<void>;
  /** Chains `event` after the current head (see audit.ts), stores it and moves the head; returns the entry. */
  appendAudit(event: AuditEvent): Promise<AuditEntry>;
}

export interface AuthStore extends AuthReader {
  readonly kind: 'file' | 'postgres';
  /**
   * Runs `fn` as one transaction: all of its writes or none. Transactions are serialized — in the file
   * store by one queue, in Postgres by a row lock on the audit head that every transaction takes first,
   * across all processes sharing the schema — so `fn` sees no concurrent change between its reads and
   * writes (the last-admin rule relies on this). Keep `fn` short: no slow work (password hashing) inside.
   */
  transaction<T>(fn: (tx: AuthTx) => Promise<T>): Promise<T>;
  /** Records the last use of a session (sliding expiry) outside any transaction; a missing session is ignored. */
  touchSession(tokenHash: string, lastSeenAt: number): Promise<void>;
  /** Removes one session outside any transaction (an expired one found on use). */
  dropSession(tokenHash: string): Promise<void>;
  /** Records the last use of a key outside any transaction; a missing key is ignored. */
  touchKey(id: string, at: string): Promise<void>;
  /** Audit entries with `seq < before` (all when undefined), newest first, at most `limit`. */
  auditPage(before: number | undefined, limit: number): Promise<AuditEntry[]>;
  /** Audit entries with `seq > afterSeq`, ascending, at most `limit`. */
  auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /** The stored head of the chain; `{ seq: 0, hash: GENESIS_HASH }` when empty. */
  auditHead(): Promise<AuditHead>;
  /** Waits for writes in flight and releases files and connections. Later calls fail with TL_ERR_CLOSED. */
  close(): Promise<void>;
}
