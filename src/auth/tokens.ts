/**
 * Session tokens, CSRF tokens and API keys: how they are made, recognised and hashed for storage.
 *
 * All of them carry at least 256 bits from the CSPRNG, so a single fast SHA-256 is enough to store them:
 * slow hashes (scrypt) protect low-entropy secrets such as passwords against guessing, and guessing a
 * 256-bit value is hopeless at any speed. A fast hash also keeps per-request checks cheap.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_BYTES = 32;
/** base64url of 32 bytes, no padding. */
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/** `tl_<16 hex>_<43 base64url>`: the id has a fixed length, so the secret may itself contain `_`. */
const API_KEY_RE = /^tl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** Hex SHA-256, the stored form of tokens and key secrets. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A new session token (32 random bytes, base64url). */
export function newSessionToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isSessionToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_RE.test(token);
}

/**
 * The CSRF token of a session: an HMAC of a fixed label keyed by the session token. It needs no storage,
 * is stable for the session's life, and cannot be derived from what the store keeps (the SHA-256 of the
 * token) nor, without the token, from anything a page can read.
 */
export function csrfFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('tickline csrf v1').digest('base64url');
}

/** Constant-time comparison of two strings (false when the lengths differ; length is not secret here). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface NewApiKey {
  id: string;
  /** `tl_<id>_<secret>`, shown once. */
  token: string;
  /** Hex SHA-256 of the secret part: the only thing stored. */
  secretHash: string;
}

export function newApiKey(): NewApiKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(TOKEN_BYTES).toString('base64url');
  return { id, token: `tl_${id}_${secret}`, secretHash: sha256Hex(secret) };
}

/** Reads `tl_<id>_<secret>`, optionally after `Bearer ` (as in an Authorization header); null when malformed. */
export function parseApiKey(bearer: unknown): { id: string; secret: string } | null {
  if (typeof bearer !== 'string') return null;
  const m = API_KEY_RE.exec(bearer.replace(/^Bearer\s+/i, '').trim());
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

/** A random password for the first admin: 24 bytes → 32 URL-safe characters. */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}
