import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeConfig, loadConfig } from './load.ts';

test('defaults', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.port, 8000);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.store, 'duckdb://./data/tickline.duckdb');
  assert.equal(c.zones, 'file://./data/zones');
  assert.deepEqual(c.symbols, ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'TSLA', 'BTC-USD', 'ETH-USD']);
  assert.ok(c.simRate >= 20);
  assert.ok(Object.isFrozen(c));
});

test('paths follow the data dir; env beats file; overrides beat env', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ dataDir: '/srv/tl', port: 9000, TICKLINE_SIM_RATE: 'max' }));
  const c = loadConfig({ env: { TICKLINE_PORT: '9100' }, file, overrides: { host: '0.0.0.0' } });
  assert.equal(c.store, 'duckdb:///srv/tl/tickline.duckdb');
  assert.equal(c.port, 9100);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.simRate, Infinity);
});

test('errors name the key, the bad value and what is allowed, all at once', () => {
  assert.throws(
    () => loadConfig({ env: { TICKLINE_PORT: 'eighty', TICKLINE_SIM_RATE: '-3', TICKLINE_COLOUR: 'red' } }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'TL_ERR_CONFIG');
      assert.match(e.message, /TICKLINE_PORT="eighty" is invalid: expected an integer from 0 to 65535/);
      assert.match(e.message, /TICKLINE_SIM_RATE="-3"/);
      assert.match(e.message, /unknown environment variable TICKLINE_COLOUR/);
      return true;
    },
  );
});

test('unknown keys in the file are rejected; bad JSON names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ prot: 1 }));
  assert.throws(() => loadConfig({ env: {}, file }), /unknown key "prot"/);
  writeFileSync(file, '{nope');
  assert.throws(() => loadConfig({ env: {}, file }), new RegExp(`config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('bad symbols and levels are refused; printing redacts URL passwords', () => {
  assert.throws(() => loadConfig({ env: { TICKLINE_SYMBOLS: 'AAPL,b@d' } }), /bad: "B@D"/);
  assert.throws(() => loadConfig({ env: { TICKLINE_LOG_LEVEL: 'loud' } }), /one of fatal, error/);
  const c = loadConfig({ env: { TICKLINE_STORE: 'postgres://u:hunter2@db:5432/x' } });
  const printed = JSON.stringify(describeConfig(c));
  assert.doesNotMatch(printed, /hunter2/);
  assert.match(printed, /postgres:\/\/u:\*\*\*@db/);
});

test('secret keys can be read from *_FILE paths; others cannot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-cfg-'));
  const file = join(dir, 'store');
  writeFileSync(file, 'postgres://app:pw@db:5432/t\n');
  const c = loadConfig({ env: { TICKLINE_STORE_FILE: file } });
  assert.equal(c.store, 'postgres://app:pw@db:5432/t');
  assert.throws(() => loadConfig({ env: { TICKLINE_PORT_FILE: file } }), /only secret keys can be read from a file/);
  assert.throws(() => loadConfig({ env: { TICKLINE_CACHE_FILE: join(dir, 'missing') } }), /TICKLINE_CACHE_FILE=.*cannot read the file \(ENOENT\)/);
});

test('the README documents every setting', async () => {
  const { readFileSync } = await import('node:fs');
  const { SPEC } = await import('./schema.ts');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const missing = Object.values(SPEC).map((s) => s.env).filter((env) => !readme.includes(`\`${env}\``));
  assert.deepEqual(missing, []);
});
