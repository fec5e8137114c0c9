/**
 * Password hashing with scrypt (memory-hard, so guessing on GPUs/ASICs costs memory as well as time).
 *
 * Encoded form, self-describing so the parameters can be raised later while old hashes still verify:
 *
 *     scrypt$<logN>$<r>$<p>$<salt, base64 unpadded>$<derived key, base64 unpadded>
 *
 * The key length is the length of the stored key, so it can change too. Only the asynchronous
 * `crypto.scrypt` is used: it runs on the libuv thread pool and never blocks the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { TicklineError } from '../core/errors.ts';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** N = 2^15, r = 8, p = 1: about 32 MiB and a few tens of milliseconds per hash on current servers. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ logN: 15, r: 8, p: 1 });

export const KEY_BYTES = 32;
export const SALT_BYTES = 16;
export const PASSWORD_MIN_CHARS = 12;
export const PASSWORD_MAX_CHARS = 1024;

/**
 * Bounds accepted when decoding a stored hash. A stored hash chooses how much memory and time a verify
 * costs, so absurd values (from a corrupted or hostile store) are refused instead of obeyed.
 */
const LIMITS = { logN: [1, 22], r: [1, 32], p: [1, 16] } as const;
const B64 = /^[A-Za-z0-9+/]+$/;

export interface DecodedHash extends ScryptParams {
  salt: Buffer;
  key: Buffer;
}

/**
 * Checks the password policy: a string of 12 to 1024 characters (Unicode code points, after NFKC
 * normalisation). Throws TL_ERR_VALIDATION naming the rule and the length, never the password itself.
 */
export function checkPasswordPolicy(password: unknown, field = 'password'): void {
  if (typeof password !== 'string') {
    throw new TicklineError('TL_ERR_VALIDATION', `${field}: must be a string, got ${password === null ? 'null' : typeof password}`);
  }
  const chars = [...normalizePassword(password)].length;
  if (chars < PASSWORD_MIN_CHARS) {
    throw new TicklineError('TL_ERR_VALIDATION', `${field}: must be at least ${PASSWORD_MIN_CHARS} characters long, got ${chars}`);
  }
  if (chars > PASSWORD_MAX_CHARS) {
    throw new TicklineError('TL_ERR_VALIDATION', `${field}: must be at most ${PASSWORD_MAX_CHARS} characters long, got ${chars}`);
  }
}

/**
 * The same password typed on different keyboards or systems may arrive composed or decomposed
 * ("é" as one code point or two); NFKC makes them hash alike, as NIST SP 800-63B recommends.
 */
function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Hashes a password that passed the policy; the salt is 16 random bytes. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params, 'hashPassword');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, params);
  return encodeHash({ ...params, salt, key });
}

/**
 * True when `password` matches `encoded`. The derived key is compared in constant time; a malformed
 * `encoded` throws TL_ERR_VALIDATION (that is a store problem, not a wrong password).
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const h = decodeHash(encoded);
  const key = await derive(password, h.salt, h.key.length, h);
  return timingSafeEqual(key, h.key);
}

/** True when `encoded` was made with parameters other than `params` (or cannot be read): hash again at the next login. */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  let h: DecodedHash;
  try {
    h = decodeHash(encoded);
  } catch {
    return true;
  }
  return h.logN !== params.logN || h.r !== params.r || h.p !== params.p || h.key.length !== KEY_BYTES || h.salt.length !== SALT_BYTES;
}

export function encodeHash(h: DecodedHash): string {
  return ['scrypt', h.logN, h.r, h.p, unpadded(h.salt), unpadded(h.key)].join('$');
}

/** Reads the encoded form; throws TL_ERR_VALIDATION naming the part that is wrong. */
export function decodeHash(encoded: string): DecodedHash {
  const parts = typeof encoded === 'string' ? encoded.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    throw new TicklineError('TL_ERR_VALIDATION', 'password hash: expected scrypt$<logN>$<r>$<p>$<salt>$<hash>');
  }
  const [, logN, r, p, salt, key] = parts as [string, string, string, string, string, string];
  const params = { logN: intPart('logN', logN), r: intPart('r', r), p: intPart('p', p) };
  checkParams(params, 'password hash');
  if (!B64.test(salt) || !B64.test(key)) {
    throw new TicklineError('TL_ERR_VALIDATION', 'password hash: salt and hash must be base64');
  }
  const decoded = { ...params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
  if (decoded.salt.length < 8 || decoded.key.length < 16) {
    throw new TicklineError('TL_ERR_VALIDATION', `password hash: salt (${decoded.salt.length} bytes) or hash (${decoded.key.length} bytes) is too short`);
  }
  return decoded;
}

function intPart(name: string, text: string): number {
  if (!/^\d{1,3}$/.test(text)) throw new TicklineError('TL_ERR_VALIDATION', `password hash: ${name} must be a small integer, got ${JSON.stringify(text.slice(0, 10))}`);
  return Number(text);
}

function checkParams(params: ScryptParams, where: string): void {
  for (const name of ['logN', 'r', 'p'] as const) {
    const [min, max] = LIMITS[name];
    const v = params[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new TicklineError('TL_ERR_VALIDATION', `${where}: scrypt ${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  }
}

function derive(password: string, salt: Buffer, keyLen: number, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: scryptMemory(N, params.r, params.p) };
  return new Promise((resolve, reject) => {
    scrypt(normalizePassword(password), salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Memory scrypt needs (the V array of 128·r·(N+2) bytes plus the B array of 128·r·p bytes), with 1 MiB of
 * headroom. Node's default `maxmem` (32 MiB) is exactly what N = 2^15, r = 8 needs without that headroom,
 * so the default parameters would be refused.
 */
function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + 2 + p) + 1024 * 1024;
}

function unpadded(b: Buffer): string {
  return b.toString('base64').replace(/=+$/, '');
}
