import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, mock, test } from 'node:test';
import { isTicklineError } from '../core/errors.ts';
import { checkPasswordPolicy, decodeHash, DEFAULT_SCRYPT, encodeHash, hashPassword, needsRehash, verifyPassword } from './password.ts';

/** Cheap parameters: the format and the logic are the same, only the cost differs. */
const FAST = { logN: 4, r: 8, p: 1 };

function assertValidation(fn: () => unknown, includes: string[], excludes: string[] = []): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTicklineError(e), String(e));
    assert.equal(e.code, 'TL_ERR_VALIDATION');
    for (const s of includes) assert.ok(e.message.includes(s), `${JSON.stringify(e.message)} should include ${JSON.stringify(s)}`);
    for (const s of excludes) assert.ok(!e.message.includes(s), `${JSON.stringify(e.message)} must not include ${JSON.stringify(s)}`);
    return true;
  });
}

describe('password hashing', () => {
  test('the default parameters are N=2^15, r=8, p=1 and work (maxmem is raised enough)', async () => {
    assert.deepEqual({ ...DEFAULT_SCRYPT }, { logN: 15, r: 8, p: 1 });
    const encoded = await hashPassword('correct horse battery staple');
    assert.match(encoded, /^scrypt\$15\$8\$1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('correct horse battery staple', encoded), true);
    assert.equal(needsRehash(encoded), false);
  });

  test('encodes a self-describing hash with a 16-byte salt and a 32-byte key, salted anew each time', async () => {
    const a = await hashPassword('a long enough password', FAST);
    const b = await hashPassword('a long enough password', FAST);
    assert.notEqual(a, b);
    const d = decodeHash(a);
    assert.deepEqual([d.logN, d.r, d.p, d.salt.length, d.key.length], [4, 8, 1, 16, 32]);
    assert.equal(encodeHash(d), a);
  });

  test('verifies the right password and refuses others', async () => {
    const encoded = await hashPassword('a long enough password', FAST);
    assert.equal(await verifyPassword('a long enough password', encoded), true);
    assert.equal(await verifyPassword('a long enough passwore', encoded), false);
    assert.equal(await verifyPassword('', encoded), false);
  });

  test('old hashes keep verifying after the parameters change, and are flagged for rehash', async () => {
    const old = await hashPassword('a long enough password', { logN: 5, r: 4, p: 2 });
    assert.equal(await verifyPassword('a long enough password', old), true);
    assert.equal(needsRehash(old, FAST), true);
    assert.equal(needsRehash(old, { logN: 5, r: 4, p: 2 }), false);
    assert.equal(needsRehash(await hashPassword('a long enough password', FAST), FAST), false);
    assert.equal(needsRehash('not a hash'), true);
  });

  test('composed and decomposed Unicode passwords hash alike (NFKC)', async () => {
    const composed = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const decomposed = composed.normalize('NFD');
    assert.notEqual(composed, decomposed);
    const encoded = await hashPassword(composed, FAST);
    assert.equal(await verifyPassword(decomposed, encoded), true);
  });

  test('the derived key is compared with crypto.timingSafeEqual', async () => {
    const encoded = await hashPassword('a long enough password', FAST);
    const spy = mock.method(crypto, 'timingSafeEqual');
    syncBuiltinESMExports();
    try {
      assert.equal(await verifyPassword('wrong password here', encoded), false);
      assert.equal(spy.mock.callCount(), 1);
      const [a, b] = spy.mock.calls[0]!.arguments as [Buffer, Buffer];
      assert.equal(a.length, 32);
      assert.equal(b.length, 32);
    } finally {
      spy.mock.restore();
      syncBuiltinESMExports();
    }
  });

  test('hashing uses the asynchronous scrypt, never scryptSync', async () => {
    const sync = mock.method(crypto, 'scryptSync');
    const async = mock.method(crypto, 'scrypt');
    syncBuiltinESMExports();
    try {
      await verifyPassword('a long enough password', await hashPassword('a long enough password', FAST));
      assert.equal(sync.mock.callCount(), 0);
      assert.equal(async.mock.callCount(), 2);
    } finally {
      sync.mock.restore();
      async.mock.restore();
      syncBuiltinESMExports();
    }
  });

  test('malformed or hostile stored hashes are refused, naming the part', async () => {
    const good = await hashPassword('a long enough password', FAST);
    const parts = good.split('$');
    const withPart = (i: number, v: string): string => parts.map((p, j) => (j === i ? v : p)).join('$');
    assertValidation(() => decodeHash('bcrypt$2b$10$abc'), ['expected scrypt$']);
    assertValidation(() => decodeHash(withPart(1, '30')), ['logN', '30']);
    assertValidation(() => decodeHash(withPart(2, '999')), ['r', '999']);
    assertValidation(() => decodeHash(withPart(3, 'x')), ['p']);
    assertValidation(() => decodeHash(withPart(4, 'not*base64')), ['base64']);
    assertValidation(() => decodeHash(withPart(5, 'AAAA')), ['too short']);
    await assert.rejects(verifyPassword('a long enough password', withPart(1, '40')), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_VALIDATION');
  });
});

describe('password policy', () => {
  test('accepts 12 to 1024 characters', () => {
    checkPasswordPolicy('x'.repeat(12));
    checkPasswordPolicy('x'.repeat(1024));
    // Counted in characters, not UTF-16 units: 12 emoji are 24 units but 12 characters.
    checkPasswordPolicy('\u{1F511}'.repeat(12));
  });

  test('too short, too long or not a string fails naming the rule, never the password', () => {
    assertValidation(() => checkPasswordPolicy('short-secret'.slice(0, 11)), ['password', 'at least 12 characters', 'got 11'], ['short-secre']);
    assertValidation(() => checkPasswordPolicy('\u{1F511}'.repeat(11)), ['at least 12', 'got 11']);
    assertValidation(() => checkPasswordPolicy('y'.repeat(1025)), ['at most 1024 characters', 'got 1025'], ['yyyy']);
    assertValidation(() => checkPasswordPolicy(undefined), ['must be a string', 'undefined']);
    assertValidation(() => checkPasswordPolicy(12345678901234), ['must be a string', 'number']);
    assertValidation(() => checkPasswordPolicy('abc', 'adminPassword'), ['adminPassword:']);
  });
});
