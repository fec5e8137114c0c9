/**
 * `--local`: the admin commands on the auth store itself, with no server and no login. Whoever can open
 * the store (the JSON file, or the Postgres credentials) holds every right anyway; this is how a lost admin
 * password is recovered and how users and keys are scripted before the first start.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { auditView, AuthService, keyView, openAuthStore, userView, type AuthStore } from '../auth/index.ts';
import { redactUrl, urlPath } from '../adapters/registry.ts';
import { isTicklineError, TicklineError } from '../core/errors.ts';
import type { AdminClient, AuditEntryView, KeyView, UserView, VerifyView } from './admin-client.ts';

const ACTOR_MAX = 128;

/**
 * `cli:<operating-system user>`, the actor written to the audit log. The account may have no name (a
 * container running under an arbitrary uid); then the environment's USER, or the uid.
 */
export function localActor(env: Record<string, string | undefined>): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.USERNAME;
  }
  if (!name) name = typeof process.getuid === 'function' ? `uid-${process.getuid()}` : 'unknown';
  // eslint-disable-next-line no-control-regex -- the audit log refuses control characters
  return `cli:${name.replace(/[\u0000-\u001f\u007f]/g, '?')}`.slice(0, ACTOR_MAX);
}

/** The path of a `file://` store, else undefined. */
export function storeFile(storeUrl: string): string | undefined {
  try {
    const url = new URL(storeUrl);
    return url.protocol === 'file:' ? resolve(urlPath(url)) : undefined;
  } catch {
    return undefined;
  }
}

/** A note when a file store does not exist yet (most often: the wrong data directory). */
export function missingStoreNote(storeUrl: string): string | undefined {
  const path = storeFile(storeUrl);
  return path !== undefined && !existsSync(path) ? `note: ${path} does not exist yet: an empty auth store (check --data-dir / TICKLINE_AUTH_STORE)` : undefined;
}

function lockPath(storeUrl: string): string | undefined {
  const path = storeFile(storeUrl);
  return path === undefined ? undefined : `${path}.lock`;
}

/**
 * Opens the auth store. The file store refuses a second opener while a server has it (its `.lock` file
 * names a running process): that is turned into a message saying what to do instead.
 */
export async function openLocalStore(storeUrl: string): Promise<AuthStore> {
  try {
    return await openAuthStore(storeUrl);
  } catch (e) {
    const held = isTicklineError(e) && e.code === 'TL_ERR_STORE' ? /is in use by process (\d+)|is already open in this process/.exec(e.message) : null;
    if (!held) throw e;
    const holder = held[1] ? `process ${held[1]}` : 'this process';
    throw new TicklineError(
      'TL_ERR_UNAVAILABLE',
      `the auth store is in use by a running Tickline server (${holder} holds ${lockPath(storeUrl) ?? 'its lock'}): use the API, or stop the server`,
      { cause: e },
    );
  }
}

export class LocalAdminClient implements AdminClient {
  readonly target: string;
  readonly #store: AuthStore;
  readonly #auth: AuthService;
  readonly #actor: string;

  constructor(store: AuthStore, storeUrl: string, actor: string) {
    this.#store = store;
    this.#auth = new AuthService({ store });
    this.#actor = actor;
    this.target = redactUrl(storeUrl);
  }

  async listUsers(): Promise<UserView[]> {
    return (await this.#auth.listUsers()).map(userView);
  }

  async addUser(username: string, password: string, role: UserView['role']): Promise<UserView> {
    return userView(await this.#auth.addUser({ username, password, role }, this.#actor));
  }

  removeUser(username: string): Promise<void> {
    return this.#auth.removeUser(username, this.#actor);
  }

  setPassword(username: string, password: string): Promise<void> {
    return this.#auth.passwd(username, password, this.#actor);
  }

  async setRole(username: string, role: UserView['role']): Promise<UserView> {
    return userView(await this.#auth.setRole(username, role, this.#actor));
  }

  async listKeys(): Promise<KeyView[]> {
    return (await this.#auth.listKeys()).map(keyView);
  }

  async createKey(name: string, scopes: KeyView['scopes']): Promise<{ key: KeyView; secret: string }> {
    const made = await this.#auth.createKey({ name, scopes, createdBy: this.#actor });
    return { key: keyView(made.key), secret: made.secret };
  }

  revokeKey(id: string): Promise<boolean> {
    return this.#auth.revokeKey(id, this.#actor);
  }

  async auditList(opts: { limit: number; before?: number }): Promise<{ entries: AuditEntryView[]; verify: VerifyView }> {
    const entries = (await this.#auth.auditList(opts)).map(auditView);
    return { entries, verify: await this.#auth.auditVerify() };
  }

  auditVerify(): Promise<VerifyView> {
    return this.#auth.auditVerify();
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
