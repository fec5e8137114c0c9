/** The authentication model: roles, scopes, and the records the store keeps. */
import { show, TicklineError } from '../core/errors.ts';

export const ROLES = ['admin', 'analyst', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * What each role may do, expressed in API-key scopes so that one check (`allows`) serves sessions and keys.
 *
 * - viewer: read.
 * - analyst: read and ingest. Analysts correct and backfill data (POST /v1/ticks, quarantine release,
 *   replay); that writes market data but never changes who may access what, which is what `admin` guards.
 * - admin: everything (users, keys, configuration).
 */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  viewer: Object.freeze(['read'] as const),
  analyst: Object.freeze(['read', 'ingest'] as const),
  admin: Object.freeze(['admin', 'ingest', 'read'] as const),
});

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/**
 * True when a role, or a set of key scopes, grants `needed`. The `admin` scope implies every other
 * scope; nothing else implies anything.
 */
export function allows(granted: Role | readonly Scope[], needed: Scope): boolean {
  const scopes: readonly Scope[] = typeof granted === 'string' ? (isRole(granted) ? ROLE_SCOPES[granted] : []) : granted;
  return scopes.includes('admin') || scopes.includes(needed);
}

/** Throws TL_ERR_FORBIDDEN unless `allows(granted, needed)`. */
export function requireScope(granted: Role | readonly Scope[], needed: Scope): void {
  if (!allows(granted, needed)) {
    const what = typeof granted === 'string' ? `role ${show(granted)}` : `scopes ${show(granted)}`;
    throw new TicklineError('TL_ERR_FORBIDDEN', `${what} does not allow ${show(needed)}`);
  }
}

const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{1,63}$/;

/**
 * Usernames are case-insensitive: they are lower-cased, then must match `^[a-z0-9][a-z0-9._-]{1,63}$`.
 * Returns the canonical (lower-case) name or throws TL_ERR_VALIDATION naming the value.
 */
export function canonicalUsername(username: unknown, field = 'username'): string {
  const name = typeof username === 'string' ? username.toLowerCase() : '';
  if (!USERNAME_RE.test(name)) {
    throw new TicklineError(
      'TL_ERR_VALIDATION',
      `${field}: must be 2 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit, got ${show(username)}`,
    );
  }
  return name;
}

/** A user as the store keeps it. Times are ISO 8601 UTC. */
export interface UserRecord {
  username: string;
  role: Role;
  /** `scrypt$…`, see password.ts. */
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
}

/** A user as the service shows it: never the password hash. */
export interface User {
  username: string;
  role: Role;
  createdAt: string;
  updatedAt: string;
}

export function publicUser(u: UserRecord): User {
  return { username: u.username, role: u.role, createdAt: u.createdAt, updatedAt: u.updatedAt };
}

/** A login session. Only the SHA-256 of its token is stored, so a copy of the store cannot be replayed. */
export interface SessionRecord {
  /** Hex SHA-256 of the session token. */
  tokenHash: string;
  username: string;
  clientIp: string;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds of the last use that was written (sliding idle timeout). */
  lastSeenAt: number;
}

/** An API key. Only the SHA-256 of its secret is stored. Times are ISO 8601 UTC. */
export interface KeyRecord {
  id: string;
  name: string;
  scopes: Scope[];
  /** Hex SHA-256 of the secret part. */
  secretHash: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
}

/** An API key as listed: never the secret nor its hash. */
export type ApiKeyInfo = Omit<KeyRecord, 'secretHash'>;

export function publicKey(k: KeyRecord): ApiKeyInfo {
  return {
    id: k.id,
    name: k.name,
    scopes: [...k.scopes],
    createdBy: k.createdBy,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
    revokedBy: k.revokedBy,
    lastUsedAt: k.lastUsedAt,
  };
}

export const AUDIT_ACTIONS = [
  'login.ok',
  'login.failed',
  'login.locked',
  'logout',
  'user.add',
  'user.remove',
  'user.passwd',
  'user.role',
  'key.create',
  'key.revoke',
  'config.change',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Values allowed in an audit entry's `detail`: flat, JSON-exact, so the hash survives any store. */
export type AuditValue = string | number | boolean | null;

/** What the service asks the store to append; the store assigns `seq`, `prevHash` and `hash`. */
export interface AuditEvent {
  /** ISO 8601 UTC with milliseconds. */
  at: string;
  actor: string;
  action: AuditAction;
  target: string | null;
  detail: Record<string, AuditValue>;
}

export interface AuditEntry extends AuditEvent {
  /** 1, 2, 3, … without gaps. */
  seq: number;
  /** `hash` of the entry before (64 zeros for the first). */
  prevHash: string;
  /** Hex SHA-256 of the canonical JSON of every other field, see audit.ts. */
  hash: string;
}

/** The head of the chain, kept apart from the entries so that a cut-off tail is noticed. */
export interface AuditHead {
  seq: number;
  hash: string;
}
