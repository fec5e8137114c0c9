/** The authentication core: what the HTTP routes, the dashboard and the CLI use. See docs/auth.md. */
export { AuthService, BOOTSTRAP_ADMIN, DEFAULT_SESSION_ABSOLUTE_MS, DEFAULT_SESSION_IDLE_MS, KEY_TOUCH_MS, SESSION_TOUCH_MS } from './service.ts';
export type { AuthServiceOptions, CreatedKey, KeyIdentity, Session } from './service.ts';
export { allows, canonicalUsername, requireScope, ROLE_SCOPES, ROLES, SCOPES, AUDIT_ACTIONS } from './model.ts';
export type { ApiKeyInfo, AuditAction, AuditEntry, AuditHead, Role, Scope, User } from './model.ts';
export type { AuditVerifyResult } from './audit.ts';
export { checkPasswordPolicy, DEFAULT_SCRYPT, needsRehash, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from './password.ts';
export type { ScryptParams } from './password.ts';
export { authStoreRegistry, openAuthStore } from './open-store.ts';
export type { AuthStoreContext } from './open-store.ts';
export type { AuthStore } from './store.ts';
export { auditView, keyView, userView } from './wire.ts';
export type { AuditEntryView, KeyView, UserView, VerifyView } from './wire.ts';
