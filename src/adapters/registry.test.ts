import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../core/log.ts';
import { Registry, parseAdapterUrl, redactUrl, urlHosts, urlPath } from './registry.ts';

const ctx = { dataDir: '.', logger: silentLogger() };

test('adapters are chosen by scheme; unknown schemes list the known ones', async () => {
  const r = new Registry<string>('bus').register('memory', () => 'mem').register('kafka', (u) => `kafka ${u.host}`);
  assert.equal(await r.create('memory://', ctx), 'mem');
  assert.equal(await r.create('kafka://b1:9092', ctx), 'kafka b1:9092');
  await assert.rejects(() => r.create('rabbit://x', ctx), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TL_ERR_UNKNOWN_SCHEME');
    assert.match(e.message, /known: kafka:\/\/, memory:\/\//);
    return true;
  });
  assert.throws(() => r.register('memory', () => 'again'), { code: 'TL_ERR_DUPLICATE_SCHEME' });
});

test('multi-host URLs, paths and redaction', () => {
  const u = parseAdapterUrl('kafka://a:9092,b:9093,c:9094/topic?acks=all', 'bus');
  assert.deepEqual(urlHosts(u), ['a:9092', 'b:9093', 'c:9094']);
  assert.equal(u.searchParams.get('acks'), 'all');
  assert.equal(urlPath(new URL('duckdb://./data/t.duckdb')), './data/t.duckdb');
  assert.equal(urlPath(new URL('duckdb:///var/lib/t.duckdb')), '/var/lib/t.duckdb');
  assert.equal(redactUrl('postgres://user:s3cret@db:5432/x'), 'postgres://user:***@db:5432/x');
  assert.throws(() => parseAdapterUrl('not a url', 'store'), { code: 'TL_ERR_BAD_URL' });
});
