import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redactor } from './redact.ts';

test('key query parameters and every occurrence of a key, plain or URL-encoded, are redacted', () => {
  const r = new Redactor(['s3cr/t+key', undefined, '']);
  assert.equal(
    r.text('GET https://x/query?function=GLOBAL_QUOTE&apikey=anything&symbol=IBM failed'),
    'GET https://x/query?function=GLOBAL_QUOTE&apikey=[redacted]&symbol=IBM failed',
  );
  assert.equal(r.text('key s3cr/t+key, encoded s3cr%2Ft%2Bkey'), 'key [redacted], encoded [redacted]');
  assert.equal(r.text('?x_cg_demo_api_key=abc'), '?x_cg_demo_api_key=[redacted]');
  assert.equal(r.text('nothing secret here'), 'nothing secret here');
});
