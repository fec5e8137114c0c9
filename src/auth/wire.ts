/**
 * Users, API keys and audit entries as the API sends them (snake_case, never a hash of a secret). The admin
 * routes and the CLI's local mode both use these, so `--json` prints the same whichever way it went.
 */
import type { AuditVerifyResult } from './audit.ts';
import type { ApiKeyInfo, AuditEntry, Role, Scope, User } from './model.ts';

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

export type VerifyView = AuditVerifyResult;

export function userView(u: User): UserView {
  return { username: u.username, role: u.role, created_at: u.createdAt, updated_at: u.updatedAt };
}

export function keyView(k: ApiKeyInfo): KeyView {
  return {
    id: k.id,
    name: k.name,
    scopes: [...k.scopes],
    created_by: k.createdBy,
    created_at: k.createdAt,
    revoked_at: k.revokedAt,
    revoked_by: k.revokedBy,
    last_used_at: k.lastUsedAt,
  };
}

export function auditView(e: AuditEntry): AuditEntryView {
  return { seq: e.seq, at: e.at, actor: e.actor, action: e.action, target: e.target, detail: { ...e.detail }, prev_hash: e.prevHash, hash: e.hash };
}
