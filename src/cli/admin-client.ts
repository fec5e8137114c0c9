/**
 * What the `users`, `keys` and `audit` commands need, as one interface with two implementations: over
 * the HTTP API (admin-http.ts) and directly on the auth store (admin-local.ts). Each command is written
 * once against it. Records use the API's JSON shapes, so `--json` prints the same in both modes.
 */
import type { AuditEntryView, KeyView, Role, Scope, UserView, VerifyView } from '../auth/index.ts';

export type { AuditEntryView, KeyView, UserView, VerifyView };

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
