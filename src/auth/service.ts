/**
 * AuthService: users, logins and sessions, API keys and the audit log, over an AuthStore.
 *
 * Guarantees:
 * - Every change (user add/remove/passwd/role, login, logout, key create/revoke, config change) writes its
 *   audit entry in the same store transaction as the change: both happen or neither.
 * - Secrets never reach the store or the audit log in the clear: passwords are scrypt-hashed, session
 *   tokens and key secrets SHA-256-hashed; audit entries hold names, roles, scopes, addresses and
 *   hash prefixes only.
 * - The service does not authorise: it trusts `actor`. Callers (HTTP routes, the CLI) check the caller's
 *   role or scopes with `allows` / `requireScope` before calling a mutating method.
 * - Unknown user and wrong password fail alike (same error, one scrypt verification each, one audit write).
 */
import { isIP } from 'node:net';
import { show, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { redactUrl } from '../adapters/registry.ts';
import { verifyChain, type AuditVerifyResult } from './audit.ts';
import {
  canonicalUsername,
  isRole,
  isScope,
  publicKey,
  publicUser,
  ROLE_SCOPES,
  SCOPES,
  type ApiKeyInfo,
  type AuditEntry,
  type AuditEvent,
  type AuditHead,
  type AuditValue,
  type Role,
  type Scope,
  type SessionRecord,
  type User,
  type UserRecord,
} from './model.ts';
import { checkPasswordPolicy, DEFAULT_SCRYPT, hashPassword, needsRehash, PASSWORD_MAX_CHARS, verifyPassword, type ScryptParams } from './password.ts';
import { addressKey, FailureLimiter, type FailureLimiterOptions } from './ratelimit.ts';
import type { AuthStore, AuthTx } from './store.ts';
import { csrfFor, isSessionToken, newApiKey, newSessionToken, parseApiKey, randomPassword, safeEqual, sha256Hex } from './tokens.ts';

export const DEFAULT_SESSION_IDLE_MS = 12 * 3_600_000;
export const DEFAULT_SESSION_ABSOLUTE_MS = 7 * 86_400_000;
/**
 * A session's last use is written at most this often, so that a dashboard polling every second does not
 * write on every request; the idle timeout is therefore counted from the last use to within this much.
 */
export const SESSION_TOUCH_MS = 60_000;
/** `lastUsedAt` of a key is written at most this often, for the same reason. */
export const KEY_TOUCH_MS = 60_000;
export const BOOTSTRAP_ADMIN = 'admin';

const NAME_MAX = 100;
const ACTOR_MAX = 128;
const AUDIT_PAGE_MAX = 1000;
/** First characters of a session's token hash, written to the audit log to tie a logout to its login. */
const SESSION_REF_CHARS = 16;

export interface AuthServiceOptions {
  store: AuthStore;
  /** Clock in epoch milliseconds (tests inject one). */
  now?: () => number;
  logger?: Logger;
  /** scrypt parameters for new hashes (default N=2^15, r=8, p=1; tests lower them). */
  scrypt?: ScryptParams;
  /** A session ends after this long without use (default 12 h). */
  sessionIdleMs?: number;
  /** A session ends this long after login whatever its use (default 7 days). */
  sessionAbsoluteMs?: number;
  /** Login lock-out per username and per client address (default 5 failures in 15 min, 10 000 keys). */
  loginLimit?: Omit<FailureLimiterOptions, 'now'>;
}

/** A live session, as `login` and `session` return it. */
export interface Session {
  /** The session token (the cookie value). */
  token: string;
  /** The CSRF token to expect in a header on unsafe requests of this session (see `checkCsrf`). */
  csrf: string;
  user: { username: string; role: Role };
  /** When the session ends unless used again (the earlier of the idle and the absolute limit), ISO 8601. */
  expiresAt: string;
}

export interface KeyIdentity {
  keyId: string;
  scopes: Scope[];
}

export interface CreatedKey {
  key: ApiKeyInfo;
  /** `tl_<keyId>_<secret>`: shown once, never stored nor retrievable later. */
  secret: string;
}

export class AuthService {
  readonly #store: AuthStore;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #scrypt: ScryptParams;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #limiter: FailureLimiter;
  #dummyHash: Promise<string> | null = null;

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.#idleMs = positiveMs(options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS, 'sessionIdleMs');
    this.#absoluteMs = positiveMs(options.sessionAbsoluteMs ?? DEFAULT_SESSION_ABSOLUTE_MS, 'sessionAbsoluteMs');
    this.#limiter = new FailureLimiter({ ...options.loginLimit, now: this.#now });
  }

  // ---- users ------------------------------------------------------------------------------------------

  /**
   * When the store has no user at all, creates `admin` with `adminPassword` (which must pass the policy)
   * or a random 32-character URL-safe one, and returns that password so the caller can show it once.
   * Returns null when any user exists, and then changes nothing.
   */
  async bootstrap(adminPassword?: string): Promise<string | null> {
    if ((await this.#store.listUsers()).length > 0) return null;
    const password = adminPassword ?? randomPassword();
    checkPasswordPolicy(password, 'adminPassword');
    const passwordHash = await hashPassword(password, this.#scrypt);
    const created = await this.#store.transaction(async (tx) => {
      if ((await tx.listUsers()).length > 0) return false;
      await tx.putUser(this.#newUser(BOOTSTRAP_ADMIN, 'admin', passwordHash));
      await this.#audit(tx, 'system', 'user.add', BOOTSTRAP_ADMIN, { role: 'admin', bootstrap: true });
      return true;
    });
    return created ? password : null;
  }

  /** Adds a user. The username is case-insensitive (stored lower-case) and must not exist yet. */
  async addUser(input: { username: string; password: string; role: Role }, actor: string): Promise<User> {
    const username = canonicalUsername(input.username);
    checkRole(input.role);
    checkPasswordPolicy(input.password);
    checkActor(actor);
    const passwordHash = await hashPassword(input.password, this.#scrypt);
    return this.#store.transaction(async (tx) => {
      if (await tx.getUser(username)) throw new TicklineError('TL_ERR_VALIDATION', `username: ${show(username)} exists already`);
      const user = this.#newUser(username, input.role, passwordHash);
      await tx.putUser(user);
      await this.#audit(tx, actor, 'user.add', username, { role: input.role });
      return publicUser(user);
    });
  }

  /** Every user, by username, without password hashes. */
  async listUsers(): Promise<User[]> {
    return (await this.#store.listUsers()).map(publicUser);
  }

  /** Removes a user and ends their sessions. The last admin cannot be removed (TL_ERR_FORBIDDEN). */
  async removeUser(username: string, actor: string): Promise<void> {
    const name = canonicalUsername(username);
    checkActor(actor);
    await this.#store.transaction(async (tx) => {
      const user = await existingUser(tx, name);
      if (user.role === 'admin') await keepAnAdmin(tx, name, 'remove');
      await tx.deleteUser(name);
      await this.#audit(tx, actor, 'user.remove', name, { role: user.role });
    });
  }

  /**
   * Sets a new password (policy applies) and ends every session of the user, so a password changed after
   * a compromise also throws the intruder out. This is also how a forgotten admin password is reset.
   */
  async passwd(username: string, newPassword: string, actor: string): Promise<void> {
    const name = canonicalUsername(username);
    checkPasswordPolicy(newPassword);
    checkActor(actor);
    const passwordHash = await hashPassword(newPassword, this.#scrypt);
    await this.#store.transaction(async (tx) => {
      const user = await existingUser(tx, name);
      await tx.putUser({ ...user, passwordHash, updatedAt: this.#iso() });
      const ended = await tx.deleteUserSessions(name);
      await this.#audit(tx, actor, 'user.passwd', name, { sessionsEnded: ended });
    });
  }

  /** Changes a user's role; the last admin cannot be demoted (TL_ERR_FORBIDDEN). Setting the same role changes nothing. */
  async setRole(username: string, role: Role, actor: string): Promise<User> {
    const name = canonicalUsername(username);
    checkRole(role);
    checkActor(actor);
    return this.#store.transaction(async (tx) => {
      const user = await existingUser(tx, name);
      if (user.role === role) return publicUser(user);
      if (user.role === 'admin') await keepAnAdmin(tx, name, 'demote');
      const updated = { ...user, role, updatedAt: this.#iso() };
      await tx.putUser(updated);
      await this.#audit(tx, actor, 'user.role', name, { from: user.role, to: role });
      return publicUser(updated);
    });
  }

  // ---- sessions ---------------------------------------------------------------------------------------

  /**
   * Checks a username and password and opens a session. Fails with TL_ERR_UNAUTHENTICATED (the same
   * message whether the user is unknown or the password wrong) or TL_ERR_RATE_LIMITED with
   * `details.retryAfterSeconds` when the username or the client address is locked out.
   */
  async login(username: string, password: string, clientIp: string): Promise<Session> {
    const ip = checkIp(clientIp);
    const name = validUsername(username);
    // Names that cannot exist share one key, so that huge or random input cannot fill the limiter's memory.
    const keys = { user: `user:${name ?? '(invalid)'}`, address: `ip:${addressKey(ip)}` };
    const wait = Math.max(this.#limiter.retryAfterMs(keys.user), this.#limiter.retryAfterMs(keys.address));
    if (wait > 0) throw rateLimited(wait);
    // Counted as a failure before the slow verification, in the same synchronous step as the check above:
    // otherwise any number of parallel attempts would all pass the check before the first one failed.
    const locks = { user: this.#limiter.fail(keys.user), address: this.#limiter.fail(keys.address) };

    // A name that cannot exist is an unknown user, not a malformed request: same answer, same cost.
    const user = name === null ? null : await this.#store.getUser(name);
    const ok = await this.#checkPassword(password, user);
    if (!user || !ok) {
      await this.#loginFailed(locks, ip, user);
      throw new TicklineError('TL_ERR_UNAUTHENTICATED', 'login: unknown username or wrong password');
    }
    this.#limiter.reset(keys.user);
    this.#limiter.forgive(keys.address);
    return this.#openSession(user, password, ip);
  }

  /**
   * The live session of `token`, sliding its idle timeout. Fails with TL_ERR_UNAUTHENTICATED when the
   * token is malformed, unknown, expired or its user is gone. The lookup is by the token's SHA-256, so
   * its timing says nothing about how much of a guessed token was right.
   */
  async session(token: string): Promise<Session> {
    if (!isSessionToken(token)) throw unauthenticated('session: malformed session token');
    const tokenHash = sha256Hex(token);
    const s = await this.#store.getSession(tokenHash);
    if (!s) throw unauthenticated('session: unknown or ended session');
    const now = this.#now();
    if (this.#expiresAt(s) <= now) {
      await this.#store.dropSession(tokenHash);
      throw unauthenticated('session: the session has expired');
    }
    const user = await this.#store.getUser(s.username);
    if (!user) {
      await this.#store.dropSession(tokenHash);
      throw unauthenticated('session: the user of this session no longer exists');
    }
    let lastSeenAt = s.lastSeenAt;
    if (now - lastSeenAt >= SESSION_TOUCH_MS) {
      await this.#store.touchSession(tokenHash, now);
      lastSeenAt = now;
    }
    return this.#sessionView(token, user, { ...s, lastSeenAt });
  }

  /** Ends a session; true when there was one. Ending an unknown or malformed token is not an error. */
  async logout(token: string): Promise<boolean> {
    if (!isSessionToken(token)) return false;
    const tokenHash = sha256Hex(token);
    return this.#store.transaction(async (tx) => {
      const s = await tx.getSession(tokenHash);
      if (!s) return false;
      await tx.deleteSession(tokenHash);
      await this.#audit(tx, s.username, 'logout', s.username, { session: tokenHash.slice(0, SESSION_REF_CHARS) });
      return true;
    });
  }

  /** True when `presented` is the CSRF token of the session `token` (constant time). */
  checkCsrf(token: string, presented: unknown): boolean {
    return isSessionToken(token) && typeof presented === 'string' && safeEqual(csrfFor(token), presented);
  }

  // ---- API keys ---------------------------------------------------------------------------------------

  /** Creates a key; the returned `secret` is the only copy there will ever be. */
  async createKey(input: { name: string; scopes: readonly Scope[]; createdBy: string }): Promise<CreatedKey> {
    const name = checkKeyName(input.name);
    const scopes = checkScopes(input.scopes);
    checkActor(input.createdBy, 'createdBy');
    const made = newApiKey();
    const record = {
      id: made.id,
      name,
      scopes,
      secretHash: made.secretHash,
      createdBy: input.createdBy,
      createdAt: this.#iso(),
      revokedAt: null,
      revokedBy: null,
      lastUsedAt: null,
    };
    await this.#store.transaction(async (tx) => {
      await tx.insertKey(record);
      await this.#audit(tx, input.createdBy, 'key.create', made.id, { name, scopes: scopes.join(',') });
    });
    return { key: publicKey(record), secret: made.token };
  }

  /** Every key, revoked ones included, oldest first; never a secret nor its hash. */
  async listKeys(): Promise<ApiKeyInfo[]> {
    return (await this.#store.listKeys()).map(publicKey);
  }

  /** Revokes a key (TL_ERR_NOT_FOUND when unknown); true when it was live until now. */
  async revokeKey(id: string, by: string): Promise<boolean> {
    checkActor(by, 'by');
    return this.#store.transaction(async (tx) => {
      const key = typeof id === 'string' ? await tx.getKey(id) : null;
      if (!key) throw new TicklineError('TL_ERR_NOT_FOUND', `key: no API key with id ${show(id)}`);
      if (key.revokedAt !== null) return false;
      await tx.revokeKey(id, this.#iso(), by);
      await this.#audit(tx, by, 'key.revoke', id, { name: key.name });
      return true;
    });
  }

  /**
   * The identity of an API key presented as `tl_<keyId>_<secret>` (a leading `Bearer ` is accepted).
   * Malformed, unknown and revoked keys fail with TL_ERR_UNAUTHENTICATED. The secret is compared in
   * constant time, against a dummy hash when the id is unknown so that both cases cost the same.
   */
  async authenticateKey(bearer: string): Promise<KeyIdentity> {
    const parsed = parseApiKey(bearer);
    if (!parsed) throw unauthenticated('API key: malformed key (expected tl_<keyId>_<secret>)');
    const key = await this.#store.getKey(parsed.id);
    const matches = safeEqual(sha256Hex(parsed.secret), key?.secretHash ?? UNKNOWN_KEY_HASH);
    if (!key || !matches) throw unauthenticated('API key: unknown key');
    if (key.revokedAt !== null) throw unauthenticated(`API key: key ${key.id} was revoked`);
    const now = this.#now();
    if (key.lastUsedAt === null || now - Date.parse(key.lastUsedAt) >= KEY_TOUCH_MS) {
      await this.#store.touchKey(key.id, new Date(now).toISOString());
    }
    return { keyId: key.id, scopes: [...key.scopes] };
  }

  // ---- audit ------------------------------------------------------------------------------------------

  /**
   * Records a configuration change. String values are passed through URL redaction (passwords in
   * `scheme://user:pass@host`), and values of keys that name a secret are replaced by `[redacted]`.
   */
  async recordConfigChange(actor: string, change: { key: string; from?: AuditValue; to?: AuditValue }): Promise<AuditEntry> {
    checkActor(actor);
    if (typeof change.key !== 'string' || change.key === '' || change.key.length > NAME_MAX) {
      throw new TicklineError('TL_ERR_VALIDATION', `config.change: key must be a non-empty string of at most ${NAME_MAX} characters, got ${show(change.key)}`);
    }
    const secret = /password|secret|token|credential/i.test(change.key);
    const clean = (v: AuditValue | undefined): AuditValue => (v === undefined ? null : secret ? '[redacted]' : typeof v === 'string' ? redactUrl(v) : v);
    return this.#store.transaction((tx) => this.#audit(tx, actor, 'config.change', change.key, { from: clean(change.from), to: clean(change.to) }));
  }

  /** Audit entries newest first: at most `limit` (1–1000, default 100) with `seq < before`. */
  async auditList(options: { limit?: number; before?: number } = {}): Promise<AuditEntry[]> {
    const limit = options.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX) {
      throw new TicklineError('TL_ERR_VALIDATION', `limit: must be an integer from 1 to ${AUDIT_PAGE_MAX}, got ${show(limit)}`);
    }
    const before = options.before;
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
      throw new TicklineError('TL_ERR_VALIDATION', `before: must be a positive integer, got ${show(before)}`);
    }
    return this.#store.auditPage(before, limit);
  }

  /** Walks the whole chain (see audit.ts `verifyChain`); `anchor` is a head recorded outside the store. */
  auditVerify(options: { anchor?: AuditHead } = {}): Promise<AuditVerifyResult> {
    return verifyChain(this.#store, options.anchor);
  }

  /** The current head of the chain, to record outside the store (see docs/auth.md). */
  auditHead(): Promise<AuditHead> {
    return this.#store.auditHead();
  }

  // ---- internals --------------------------------------------------------------------------------------

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  #newUser(username: string, role: Role, passwordHash: string): UserRecord {
    const at = this.#iso();
    return { username, role, passwordHash, createdAt: at, updatedAt: at };
  }

  #audit(tx: AuthTx, actor: string, action: AuditEvent['action'], target: string | null, detail: Record<string, AuditValue>): Promise<AuditEntry> {
    return tx.appendAudit({ at: this.#iso(), actor, action, target, detail });
  }

  /** One scrypt verification whatever happens: against the user's hash, or a dummy one when there is no user. */
  async #checkPassword(password: unknown, user: UserRecord | null): Promise<boolean> {
    // Absurdly long input is refused before hashing (the policy caps passwords at 1024 characters).
    const candidate = typeof password === 'string' && password.length <= 4 * PASSWORD_MAX_CHARS ? password : '';
    this.#dummyHash ??= hashPassword(randomPassword(), this.#scrypt);
    const dummy = await this.#dummyHash;
    const ok = await verifyPassword(candidate, user?.passwordHash ?? dummy);
    return ok && user !== null && candidate !== '';
  }

  /** Audits a failed login; `locked` tells which limiter keys this attempt's failure locked. */
  async #loginFailed(locked: { user: boolean; address: boolean }, ip: string, user: UserRecord | null): Promise<void> {
    // Unknown names are not recorded: people type passwords into the username field.
    const target = user?.username ?? null;
    await this.#store.transaction(async (tx) => {
      await this.#audit(tx, 'anonymous', 'login.failed', target, { ip, reason: user ? 'wrong-password' : 'unknown-user' });
      for (const by of ['user', 'address'] as const) {
        if (!locked[by]) continue;
        const retryAfterSeconds = Math.ceil(this.#limiter.windowMs / 1000);
        await this.#audit(tx, 'anonymous', 'login.locked', target, { ip, by, retryAfterSeconds });
        this.#logger?.warn({ ip, by, target }, 'login: locked out after repeated failures');
      }
    });
  }

  async #openSession(user: UserRecord, password: string, ip: string): Promise<Session> {
    // Hashing is slow, so it happens before the transaction; the hash is stored only if nobody changed the password meanwhile.
    const rehash = needsRehash(user.passwordHash, this.#scrypt) ? await hashPassword(password, this.#scrypt) : null;
    const token = newSessionToken();
    const now = this.#now();
    const record: SessionRecord = { tokenHash: sha256Hex(token), username: user.username, clientIp: ip, createdAt: now, lastSeenAt: now };
    const current = await this.#store.transaction(async (tx) => {
      await tx.deleteExpiredSessions(now - this.#idleMs, now - this.#absoluteMs);
      const latest = await tx.getUser(user.username);
      if (!latest || latest.passwordHash !== user.passwordHash) return null;
      const stored = rehash ? { ...latest, passwordHash: rehash, updatedAt: this.#iso() } : latest;
      if (rehash) await tx.putUser(stored);
      await tx.putSession(record);
      await this.#audit(tx, user.username, 'login.ok', user.username, { ip, session: record.tokenHash.slice(0, SESSION_REF_CHARS), rehashed: rehash !== null });
      return stored;
    });
    // The user was removed or got a new password between the check and the session: the check is void.
    if (!current) throw new TicklineError('TL_ERR_UNAUTHENTICATED', 'login: unknown username or wrong password');
    return this.#sessionView(token, current, record);
  }

  #expiresAt(s: SessionRecord): number {
    return Math.min(s.lastSeenAt + this.#idleMs, s.createdAt + this.#absoluteMs);
  }

  #sessionView(token: string, user: UserRecord, s: SessionRecord): Session {
    return {
      token,
      csrf: csrfFor(token),
      user: { username: user.username, role: user.role },
      expiresAt: new Date(this.#expiresAt(s)).toISOString(),
    };
  }
}

/** Compared against when a key id is unknown, so that path costs what a known one does; matches no secret. */
const UNKNOWN_KEY_HASH = sha256Hex('tickline: no such key');

/** The canonical form of `username`, or null when it cannot be a username. */
function validUsername(username: unknown): string | null {
  try {
    return canonicalUsername(username);
  } catch {
    return null;
  }
}

async function existingUser(tx: AuthTx, username: string): Promise<UserRecord> {
  const user = await tx.getUser(username);
  if (!user) throw new TicklineError('TL_ERR_NOT_FOUND', `username: no user ${show(username)}`);
  return user;
}

/** Refuses to remove or demote `username` when no other admin would be left. */
async function keepAnAdmin(tx: AuthTx, username: string, what: 'remove' | 'demote'): Promise<void> {
  const others = (await tx.listUsers()).filter((u) => u.role === 'admin' && u.username !== username);
  if (others.length === 0) {
    throw new TicklineError('TL_ERR_FORBIDDEN', `username: cannot ${what} ${show(username)}: it is the last admin (add another admin first)`);
  }
}

function checkRole(role: unknown): asserts role is Role {
  if (!isRole(role)) throw new TicklineError('TL_ERR_VALIDATION', `role: must be one of ${Object.keys(ROLE_SCOPES).join(', ')}, got ${show(role)}`);
}

function checkScopes(scopes: unknown): Scope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) {
    throw new TicklineError('TL_ERR_VALIDATION', `scopes: must be a non-empty list of ${SCOPES.join(', ')}, got ${show(scopes)}`);
  }
  for (const s of scopes) {
    if (!isScope(s)) throw new TicklineError('TL_ERR_VALIDATION', `scopes: unknown scope ${show(s)}; known: ${SCOPES.join(', ')}`);
  }
  return SCOPES.filter((s) => (scopes as unknown[]).includes(s));
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function checkKeyName(name: unknown): string {
  const n = typeof name === 'string' ? name.trim() : '';
  if (n === '' || n.length > NAME_MAX || CONTROL_CHARS.test(n)) {
    throw new TicklineError('TL_ERR_VALIDATION', `name: must be 1 to ${NAME_MAX} printable characters, got ${show(name)}`);
  }
  return n;
}

function checkActor(actor: unknown, field = 'actor'): asserts actor is string {
  if (typeof actor !== 'string' || actor === '' || actor.length > ACTOR_MAX || CONTROL_CHARS.test(actor)) {
    throw new TicklineError('TL_ERR_VALIDATION', `${field}: must be 1 to ${ACTOR_MAX} printable characters, got ${show(actor)}`);
  }
}

function checkIp(ip: unknown): string {
  if (typeof ip !== 'string' || isIP(ip) === 0) {
    throw new TicklineError('TL_ERR_VALIDATION', `clientIp: must be an IPv4 or IPv6 address, got ${show(ip)}`);
  }
  return ip;
}

function positiveMs(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new TicklineError('TL_ERR_CONFIG', `auth: ${name} must be a positive integer of milliseconds, got ${show(v)}`);
  return v;
}

function unauthenticated(message: string): TicklineError {
  return new TicklineError('TL_ERR_UNAUTHENTICATED', message);
}

function rateLimited(waitMs: number): TicklineError {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new TicklineError('TL_ERR_RATE_LIMITED', `login: too many failed attempts for this username or address; retry in ${retryAfterSeconds} s`, {
    details: { retryAfterSeconds },
  });
}
