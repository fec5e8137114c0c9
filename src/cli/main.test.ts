import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runTickline } from './test-harness.ts';

const KEY = `tl_0123456789abcdef_${'Q'.repeat(43)}`;

describe('tickline (in-process)', () => {
  test('config never shows a secret: URL passwords redacted, other secrets replaced', async () => {
    const r = await runTickline(['config', '--json'], {
      env: { TICKLINE_API_KEY: KEY, TICKLINE_ADMIN_PASSWORD: 'first admin password', TICKLINE_STORE: 'postgres://u:pw@h/db', TICKLINE_PASSWORD: 'cli only' },
    });
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(c.apiKey, '***');
    assert.equal(c.adminPassword, '***');
    assert.equal(c.store, 'postgres://u:***@h/db');
    assert.equal(c.cache, 'memory://');
    assert.ok(!r.stdout.includes(KEY.slice(20)) && !r.stdout.includes('first admin password'));
  });

  test('help and usage errors return their status instead of exiting the process', async () => {
    const help = await runTickline(['users', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: tickline users/);
    const bad = await runTickline(['keys', 'revoke']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /missing required argument 'id'/);
  });
});
