import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isTicklineError } from '../core/errors.ts';
import { allows, canonicalUsername, requireScope, SCOPES } from './model.ts';

describe('roles and scopes', () => {
  test('roles map to scopes: viewer reads, analyst reads and ingests, admin does everything', () => {
    const table = Object.fromEntries(
      (['viewer', 'analyst', 'admin'] as const).map((role) => [role, SCOPES.filter((s) => allows(role, s))]),
    );
    assert.deepEqual(table, { viewer: ['read'], analyst: ['ingest', 'read'], admin: ['ingest', 'read', 'admin'] });
  });

  test('the admin scope implies the others; other scopes imply nothing', () => {
    assert.equal(allows(['admin'], 'read'), true);
    assert.equal(allows(['admin'], 'ingest'), true);
    assert.equal(allows(['ingest'], 'read'), false);
    assert.equal(allows(['read'], 'ingest'), false);
    assert.equal(allows(['read'], 'admin'), false);
    assert.equal(allows([], 'read'), false);
    assert.equal(allows('root' as never, 'read'), false, 'an unknown role grants nothing');
  });

  test('requireScope throws TL_ERR_FORBIDDEN naming what was missing', () => {
    requireScope('analyst', 'ingest');
    assert.throws(() => requireScope('viewer', 'ingest'), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_FORBIDDEN' && /"viewer".*"ingest"/.test(e.message));
    assert.throws(() => requireScope(['read'], 'admin'), (e: unknown) => isTicklineError(e) && e.status === 403);
  });
});

describe('usernames', () => {
  test('are lower-cased and must match ^[a-z0-9][a-z0-9._-]{1,63}$', () => {
    assert.equal(canonicalUsername('Alice.Smith-2'), 'alice.smith-2');
    assert.equal(canonicalUsername('a'.repeat(64)), 'a'.repeat(64));
    for (const bad of ['a', '_alice', 'al ice', 'alice!', 'a'.repeat(65), '', 42, null, 'ålice']) {
      assert.throws(() => canonicalUsername(bad), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_VALIDATION' && e.message.startsWith('username:'), String(bad));
    }
  });
});
