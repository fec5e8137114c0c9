/**
 * What the `users`, `keys` and `audit` commands need, as one interface with two implementations: over
 * the HTTP API (admin-http.ts) and directly on the auth store (admin-local.ts). Each command is written
 * once against it. Records use the API's JSON shapes, so `--json` prints the same in both modes.
 */
import type { Role, Scope } from '../auth/index.ts';

export interface UserView {
  username: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

export interface KeyView {
  id: string;
  name: string;
  scopes: Scope[];
  created_by: string;
  created_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
}

export interface AuditEntryView {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, string | number | boolean | null>;
  prev_hash: string;
  hash: string;
}

export interface VerifyView {
  ok: boolean;
  entries: number;
  firstBad?: { seq: number; reason: string };
}

export interface AdminClient {
  /** Where the commands act, for messages: the API URL or the auth store. */
  readonly target: string;
  listUsers(): Promise<UserView[]>;
  addUser(username: string, password: string, role: Role): Promise<UserView>;
  removeUser(username: string): Promise<void>;
  setPassword(username: string, password: string): Promise<void>;
  setRole(username: string, role: Role): Promise<UserView>;
  listKeys(): Promise<KeyView[]>;
  /** The secret is returned this once. */
  createKey(name: string, scopes: Scope[]): Promise<{ key: KeyView; secret: string }>;
  /** False when the key was already revoked. */
  revokeKey(id: string): Promise<boolean>;
  /** Newest first, with the verification of the whole chain. */
  auditList(opts: { limit: number; before?: number }): Promise<{ entries: AuditEntryView[]; verify: VerifyView }>;
  auditVerify(): Promise<VerifyView>;
  /** Ends the session or closes the store. */
  close(): Promise<void>;
}
