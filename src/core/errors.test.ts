import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS, TicklineError } from './errors.ts';

test('docs/errors.md lists exactly the registered codes with their HTTP status', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(TL_ERR_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(
    rows.map(([c]) => c).sort(),
    Object.keys(ERRORS).sort(),
  );
  for (const [code, status] of rows) assert.equal(ERRORS[code as keyof typeof ERRORS].status, status, String(code));
});

test('TicklineError keeps code, status, cause and serialises to the API shape', () => {
  const cause = new Error('disk full');
  const e = new TicklineError('TL_ERR_STORE', 'cannot write /x', { cause, details: { file: '/x' } });
  assert.equal(e.name, 'TicklineError');
  assert.equal(e.status, 500);
  assert.equal(e.cause, cause);
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'TL_ERR_STORE', message: 'cannot write /x', details: { file: '/x' } });
});
