/**
 * `file://<path>.json`: the auth store of one embedded process, kept as one JSON document.
 *
 * - Loaded whole when opened; reads are served from memory.
 * - Every change (a transaction, a touch) is serialized through one queue and written atomically: the
 *   whole document goes to a temporary file with mode 0600, which is fsynced and renamed over the old
 *   one, and the directory is fsynced, so a crash leaves either the old or the new document, never half.
 *   Memory is updated only after the write succeeded, so a failed write changes nothing.
 * - A `<path>.lock` file holding the process id keeps a second process (or a second store in this
 *   process) from opening the same document and overwriting the first one's changes.
 *
 * The audit log lives in the same document and every write rewrites it, so the cost of a change grows
 * with the log: fine for the users and keys of one installation, not for a busy multi-year log (use
 * Postgres for that).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.ts';
import { releaseLock, takeLock } from '../core/lock-file.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { redactUrl, urlPath } from '../adapters/registry.ts';
import { chainEntry, EMPTY_HEAD } from './audit.ts';
import type { AuditEntry, AuditEvent, AuditHead, KeyRecord, SessionRecord, UserRecord } from './model.ts';
import type { AuthStore, AuthTx } from './store.ts';

const FORMAT = 'tickline-auth';
const VERSION = 1;

/** The document as written to disk. */
interface FileDoc {
  format: typeof FORMAT;
  version: number;
  users: UserRecord[];
  keys: KeyRecord[];
  sessions: SessionRecord[];
  /** The head of the audit chain, kept apart from the entries (see audit.ts). */
  auditHead: AuditHead;
  audit: AuditEntry[];
}

/** The document in memory: maps for lookups. Records in it are never mutated, only replaced. */
interface State {
  users: Map<string, UserRecord>;
  keys: Map<string, KeyRecord>;
  sessions: Map<string, SessionRecord>;
  audit: AuditEntry[];
  head: AuditHead;
}

export async function openFileAuthStore(url: URL, logger?: Logger): Promise<FileAuthStore> {
  const path = resolve(urlPath(url));
  if (!path.endsWith('.json') || url.search !== '') {
    throw new TicklineError('TL_ERR_BAD_URL', `auth store: expected file://<path>.json without parameters, got ${show(redactUrl(url.href))}`);
  }
  await mkdir(dirname(path), { recursive: true });
  await takeLock(path, 'auth store');
  try {
    const state = await load(path);
    logger?.debug({ path, users: state.users.size, audit: state.head.seq }, 'auth file store open');
    return new FileAuthStore(path, state);
  } catch (e) {
    await releaseLock(path);
    throw e;
  }
}

export class FileAuthStore implements AuthStore {
  readonly kind = 'file';
  readonly path: string;
  #state: State;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(path: string, state: State) {
    this.path = path;
    this.#state = state;
  }

  async getUser(username: string): Promise<UserRecord | null> {
    return copyUser(this.#open().users.get(username));
  }

  async listUsers(): Promise<UserRecord[]> {
    return sortedUsers(this.#open().users);
  }

  async getKey(id: string): Promise<KeyRecord | null> {
    return copyKey(this.#open().keys.get(id));
  }

  async listKeys(): Promise<KeyRecord[]> {
    return sortedKeys(this.#open().keys);
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const s = this.#open().sessions.get(tokenHash);
    return s ? { ...s } : null;
  }

  transaction<T>(fn: (tx: AuthTx) => Promise<T>): Promise<T> {
    return this.#serialize(async () => {
      const draft = new Draft(this.#open());
      const result = await fn(draft);
      draft.done = true;
      if (draft.dirty) await this.#commit(draft.state());
      return result;
    });
  }

  touchSession(tokenHash: string, lastSeenAt: number): Promise<void> {
    return this.#serialize(async () => {
      const state = this.#open();
      const s = state.sessions.get(tokenHash);
      if (!s || s.lastSeenAt >= lastSeenAt) return;
      const sessions = new Map(state.sessions).set(tokenHash, { ...s, lastSeenAt });
      await this.#commit({ ...state, sessions });
    });
  }

  dropSession(tokenHash: string): Promise<void> {
    return this.#serialize(async () => {
      const state = this.#open();
      if (!state.sessions.has(tokenHash)) return;
      const sessions = new Map(state.sessions);
      sessions.delete(tokenHash);
      await this.#commit({ ...state, sessions });
    });
  }

  touchKey(id: string, at: string): Promise<void> {
    return this.#serialize(async () => {
      const state = this.#open();
      const k = state.keys.get(id);
      if (!k) return;
      const keys = new Map(state.keys).set(id, { ...k, lastUsedAt: at });
      await this.#commit({ ...state, keys });
    });
  }

  async auditPage(before: number | undefined, limit: number): Promise<AuditEntry[]> {
    const audit = this.#open().audit;
    // Entries are stored by seq without gaps unless the file was edited, so search rather than index.
    let end = audit.length;
    if (before !== undefined) while (end > 0 && audit[end - 1]!.seq >= before) end--;
    return audit.slice(Math.max(0, end - limit), end).reverse().map(copyEntry);
  }

  async auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const audit = this.#open().audit;
    let start = 0;
    while (start < audit.length && audit[start]!.seq <= afterSeq) start++;
    return audit.slice(start, start + limit).map(copyEntry);
  }

  async auditHead(): Promise<AuditHead> {
    return { ...this.#open().head };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => {});
    await releaseLock(this.path);
  }

  #open(): State {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', `auth store ${this.path} is closed`);
    return this.#state;
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #commit(next: State): Promise<void> {
    const doc: FileDoc = {
      format: FORMAT,
      version: VERSION,
      users: sortedUsers(next.users),
      keys: sortedKeys(next.keys),
      sessions: [...next.sessions.values()],
      auditHead: next.head,
      audit: next.audit,
    };
    try {
      await writeAtomic(this.path, `${JSON.stringify(doc, null, 1)}\n`);
    } catch (cause) {
      throw new TicklineError('TL_ERR_STORE', `auth store: cannot write ${this.path}: ${(cause as Error).message}`, { cause });
    }
    this.#state = next;
  }
}

/**
 * The working copy of one transaction: copies of the maps (records are shared, never mutated) and the
 * audit entries appended so far. Nothing reaches the store's state unless the transaction commits.
 */
class Draft implements AuthTx {
  readonly #base: State;
  readonly #users: Map<string, UserRecord>;
  readonly #keys: Map<string, KeyRecord>;
  readonly #sessions: Map<string, SessionRecord>;
  readonly #appended: AuditEntry[] = [];
  #head: AuditHead;
  dirty = false;
  /** Set when the transaction function returned: a tx kept and used later must not write silently. */
  done = false;

  constructor(base: State) {
    this.#base = base;
    this.#users = new Map(base.users);
    this.#keys = new Map(base.keys);
    this.#sessions = new Map(base.sessions);
    this.#head = base.head;
  }

  state(): State {
    return {
      users: this.#users,
      keys: this.#keys,
      sessions: this.#sessions,
      audit: this.#appended.length > 0 ? [...this.#base.audit, ...this.#appended] : this.#base.audit,
      head: this.#head,
    };
  }

  async getUser(username: string): Promise<UserRecord | null> {
    return copyUser(this.#users.get(username));
  }

  async listUsers(): Promise<UserRecord[]> {
    return sortedUsers(this.#users);
  }

  async getKey(id: string): Promise<KeyRecord | null> {
    return copyKey(this.#keys.get(id));
  }

  async listKeys(): Promise<KeyRecord[]> {
    return sortedKeys(this.#keys);
  }

  async getSession(tokenHash: string): Promise<SessionRecord | null> {
    const s = this.#sessions.get(tokenHash);
    return s ? { ...s } : null;
  }

  async putUser(user: UserRecord): Promise<void> {
    this.#write().#users.set(user.username, { ...user });
  }

  async deleteUser(username: string): Promise<void> {
    this.#write().#users.delete(username);
    await this.deleteUserSessions(username);
  }

  async putSession(session: SessionRecord): Promise<void> {
    this.#write().#sessions.set(session.tokenHash, { ...session });
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.#write().#sessions.delete(tokenHash);
  }

  async deleteUserSessions(username: string): Promise<number> {
    return this.#deleteSessionsWhere((s) => s.username === username);
  }

  async deleteExpiredSessions(idleBefore: number, createdBefore: number): Promise<number> {
    return this.#deleteSessionsWhere((s) => s.lastSeenAt < idleBefore || s.createdAt < createdBefore);
  }

  async insertKey(key: KeyRecord): Promise<void> {
    if (this.#keys.has(key.id)) throw new TicklineError('TL_ERR_STORE', `auth store: key id ${show(key.id)} exists already`);
    this.#write().#keys.set(key.id, copyKey(key)!);
  }

  async revokeKey(id: string, at: string, by: string): Promise<void> {
    const k = this.#keys.get(id);
    if (!k || k.revokedAt !== null) return;
    this.#write().#keys.set(id, { ...k, revokedAt: at, revokedBy: by });
  }

  async appendAudit(event: AuditEvent): Promise<AuditEntry> {
    const entry = chainEntry(this.#write().#head, event);
    this.#appended.push(entry);
    this.#head = { seq: entry.seq, hash: entry.hash };
    return copyEntry(entry);
  }

  #deleteSessionsWhere(match: (s: SessionRecord) => boolean): number {
    let n = 0;
    for (const [hash, s] of this.#sessions) {
      if (!match(s)) continue;
      this.#write().#sessions.delete(hash);
      n++;
    }
    return n;
  }

  #write(): this {
    if (this.done) throw new TicklineError('TL_ERR_CLOSED', 'auth store: this transaction has ended');
    this.dirty = true;
    return this;
  }
}

function copyUser(u: UserRecord | undefined): UserRecord | null {
  return u ? { ...u } : null;
}

function copyKey(k: KeyRecord | undefined): KeyRecord | null {
  return k ? { ...k, scopes: [...k.scopes] } : null;
}

function copyEntry(e: AuditEntry): AuditEntry {
  return { ...e, detail: { ...e.detail } };
}

function sortedUsers(users: Map<string, UserRecord>): UserRecord[] {
  return [...users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0)).map((u) => ({ ...u }));
}

function sortedKeys(keys: Map<string, KeyRecord>): KeyRecord[] {
  const byCreation = (a: KeyRecord, b: KeyRecord): number =>
    a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  return [...keys.values()].sort(byCreation).map((k) => copyKey(k)!);
}

async function load(path: string): Promise<State> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return { users: new Map(), keys: new Map(), sessions: new Map(), audit: [], head: { ...EMPTY_HEAD } };
    }
    throw new TicklineError('TL_ERR_STORE', `auth store: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let doc: Partial<FileDoc>;
  try {
    doc = JSON.parse(text) as Partial<FileDoc>;
  } catch (cause) {
    throw new TicklineError('TL_ERR_STORE', `auth store: ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (doc?.format !== FORMAT || doc.version !== VERSION) {
    throw new TicklineError('TL_ERR_STORE', `auth store: ${path} is not a ${FORMAT} document of version ${VERSION} (format ${show(doc?.format)}, version ${show(doc?.version)})`);
  }
  for (const field of ['users', 'keys', 'sessions', 'audit'] as const) {
    if (!Array.isArray(doc[field])) throw new TicklineError('TL_ERR_STORE', `auth store: ${path}: ${field} must be an array`);
  }
  const head = doc.auditHead;
  if (typeof head?.seq !== 'number' || typeof head.hash !== 'string') {
    throw new TicklineError('TL_ERR_STORE', `auth store: ${path}: auditHead must be { seq, hash }, got ${show(head)}`);
  }
  return {
    users: new Map(doc.users!.map((u) => [u.username, u])),
    keys: new Map(doc.keys!.map((k) => [k.id, k])),
    sessions: new Map(doc.sessions!.map((s) => [s.tokenHash, s])),
    audit: doc.audit!,
    head: { seq: head.seq, hash: head.hash },
  };
}

/** Temp file (0600) + fsync + rename + fsync of the directory. */
function writeAtomic(path: string, body: string): Promise<void> {
  return writeFileAtomic(path, body, { tmp: `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`, mode: 0o600, exclusive: true, syncDir: true });
}

/**
 * Takes `<path>.lock`. A lock left by a process that no longer runs (or by an earlier run of this process
 * id, as in containers where the server is always pid 1) is taken over.
 */
