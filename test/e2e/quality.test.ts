import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { formatIsoMicros } from '../../src/core/time.ts';
import { filesUnder, getJson, post, start, tempDir, testConfig, until } from './helpers.ts';

/**
 * The quality gate end to end, embedded: a run with injected bad ticks is explained row by row through
 * the API and the report page; after a suite change a release moves the rows that pass now into the
 * store and the curated zone; a replay rebuilds curated files byte for byte; the zone files are read by a
 * plain DuckDB query with Hive partitioning.
 */

const H = 3_600_000_000;
/** The start of the hour two hours ago: whole hours, in the past, so a replay covers them completely. */
const HOUR = Math.floor((Date.now() * 1000) / H) * H - 2 * H;

function suite(version: number, currencies: string[]): string {
  return `suite: desk
version: ${version}
expectations:
  - name: required
    type: not_null
    column: price
  - name: price_positive
    type: between
    column: price
    min: 0
    strict_min: true
  - name: crossed
    type: bid_le_ask
  - name: currency_ok
    type: in_set
    column: currency
    values: [${currencies.join(', ')}]
`;
}

interface In {
  symbol: string;
  ts: string;
  price: number;
  size: number;
  bid?: number;
  ask?: number;
  currency: string;
  provider: string;
  seq: number;
}

function feed(): { good: In[]; eur: In[]; negative: In[]; crossed: In[] } {
  const at = (i: number) => formatIsoMicros(HOUR + i * 60_000_000 + 123_456);
  const good: In[] = [];
  for (let i = 0; i < 30; i++) {
    good.push({ symbol: i % 2 ? 'MSFT' : 'AAPL', ts: at(i), price: 100 + i / 10, size: 10, bid: 99.9 + i / 10, ask: 100.1 + i / 10, currency: 'USD', provider: 'desk', seq: i });
  }
  const eur = [0, 1, 2, 3, 4].map((i) => ({ symbol: 'SAP', ts: at(30 + i), price: 120 + i, size: 5, currency: 'EUR', provider: 'desk', seq: 100 + i }));
  const negative = [0, 1].map((i) => ({ symbol: 'AAPL', ts: at(40 + i), price: -1 - i, size: 1, currency: 'USD', provider: 'desk', seq: 200 + i }));
  const crossed = [{ symbol: 'MSFT', ts: at(45), price: 101, size: 1, bid: 102, ask: 101, currency: 'USD', provider: 'desk', seq: 300 }];
  return { good, eur, negative, crossed };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field
type Json = any;

async function duck(sql: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    return (await c.runAndReadAll(sql)).getRows();
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe('quality gate end to end (embedded)', () => {
  const tmp = tempDir();
  const zones = join(tmp.dir, 'zones');
  const suiteV1 = join(tmp.dir, 'desk-v1.yaml');
  const suiteV2 = join(tmp.dir, 'desk-v2.yaml');
  writeFileSync(suiteV1, suite(1, ['USD']));
  writeFileSync(suiteV2, suite(2, ['USD', 'EUR']));
  const f = feed();
  const all = [...f.good, ...f.eur, ...f.negative, ...f.crossed];
  let runId = '';

  before(async () => {
    const p = await start(testConfig(tmp.dir, { qualitySuite: suiteV1, qualityRunSeconds: 3600 }));
    try {
      const r = await post(`${p.url}/v1/ticks`, JSON.stringify(all));
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.deepEqual([r.body.accepted, r.body.quarantined], [all.length, 8]);
      await until(async () => {
        const runs = (await getJson<{ runs: Array<{ rows: { evaluated: number } }> }>(`${p.url}/v1/quality/runs`)).body.runs;
        return runs.some((x) => x.rows.evaluated === all.length);
      }, 10_000, 'the run to count every posted tick');
      runId = (await getJson<{ runs: Array<{ id: string }> }>(`${p.url}/v1/quality/runs`)).body.runs[0]!.id;
    } finally {
      await p.stop();
    }
  });
  after(() => tmp.remove());

  test('the run, its quarantine rows and its report say which rows failed which expectation', async () => {
    const p = await start(testConfig(tmp.dir, { qualitySuite: suiteV1 }));
    try {
      const run = (await getJson<Record<string, Json>>(`${p.url}/v1/quality/runs/${runId}`)).body;
      assert.equal(run.status, 'closed');
      assert.equal(run.verdict, 'FAIL');
      assert.deepEqual([run.suite, run.suite_version], ['desk', '1']);
      assert.deepEqual(run.rows, { evaluated: all.length, passed: 30, failed: 8, warned: 0 });
      const byName = Object.fromEntries(run.expectations.map((e: Json) => [e.name, e.failed]));
      assert.deepEqual(byName, { required: 0, price_positive: 2, crossed: 1, currency_ok: 5 });
      assert.equal(run.report_url, `/v1/quality/runs/${runId}/report`);

      const q = (await getJson<{ rows: Array<Record<string, unknown>> }>(`${p.url}/v1/quarantine?run=${runId}&limit=100`)).body.rows;
      assert.equal(q.length, 8);
      const eur = q.filter((r) => r.symbol === 'SAP');
      assert.equal(eur.length, 5);
      for (const r of eur) {
        assert.equal(r.expectation, 'currency_ok');
        assert.equal(r.observed, 'EUR');
        assert.match(String(r.threshold), /USD/);
        assert.deepEqual([r.suite, r.suite_version, r.run_id, r.released_by], ['desk', '1', runId, null]);
      }
      const neg = (await getJson<{ rows: Array<Record<string, unknown>> }>(`${p.url}/v1/quarantine?run=${runId}&expectation=price_positive`)).body.rows;
      assert.deepEqual(neg.map((r) => Number(r.observed)).sort((a, b) => a - b), [-2, -1]);
      const crossed = (await getJson<{ rows: Array<Record<string, unknown>> }>(`${p.url}/v1/quarantine?symbol=msft&expectation=crossed&from=${formatIsoMicros(HOUR)}&to=${formatIsoMicros(HOUR + H)}`)).body.rows;
      assert.deepEqual(crossed.map((r) => r.seq), [300]);

      const res = await fetch(`${p.url}${run.report_url}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const html = await res.text();
      for (const s of ['FAIL', 'currency_ok', 'SAP', '&quot;EUR&quot;', 'price_positive']) assert.ok(html.includes(s), `report mentions ${s}`);
      assert.equal((await fetch(`${p.url}/v1/quality/runs/20000101T000000Z-000000`)).status, 404);
      assert.equal((await fetch(`${p.url}/v1/quality/runs/..%2F..%2Fetc`)).status, 400);
    } finally {
      await p.stop();
    }
  });

  test('zone files are read by a plain DuckDB query with Hive partitioning', async () => {
    const date = formatIsoMicros(HOUR).slice(0, 10);
    const hour = formatIsoMicros(HOUR).slice(11, 13);
    const raw = await duck(`SELECT count(*)::INT, min(date)::VARCHAR, min(hour)::INT FROM read_json_auto('${zones}/raw/ticks/*/*/*.jsonl', hive_partitioning = true)`);
    assert.deepEqual(raw[0], [all.length, date, Number(hour)]);
    const curated = await duck(`SELECT count(*)::INT, count(DISTINCT symbol)::INT FROM read_parquet('${zones}/curated/ticks/*/*/*.parquet', hive_partitioning = true)`);
    assert.deepEqual(curated[0], [30, 2]);
    const q = await duck(`SELECT expectation, count(*)::INT FROM read_json_auto('${zones}/quarantine/ticks/*/*/*.jsonl', hive_partitioning = true) GROUP BY 1 ORDER BY 1`);
    assert.deepEqual(q, [['crossed', 1], ['currency_ok', 5], ['price_positive', 2]]);
  });

  test('after a suite change, release moves the rows that pass now to the store and curated zone, once', async () => {
    const p = await start(testConfig(tmp.dir, { qualitySuite: suiteV2 }));
    try {
      const r = await post(`${p.url}/v1/quarantine/release`, JSON.stringify({ run: runId }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const s = r.body.result as Record<string, number>;
      assert.deepEqual([s.candidates, s.released, s.still_failing, s.already_released], [8, 5, 3, 0]);
      const hist = (await getJson<{ ticks: Array<{ price: number }> }>(`${p.url}/v1/prices/history?symbol=SAP&limit=100`)).body.ticks;
      assert.deepEqual(hist.map((t) => t.price), [120, 121, 122, 123, 124]);

      const again = await post(`${p.url}/v1/quarantine/release`, JSON.stringify({ run: runId }));
      const s2 = again.body.result as Record<string, number>;
      assert.deepEqual([s2.released, s2.already_released], [0, 5]);
      const q = (await getJson<{ rows: Array<Record<string, unknown>> }>(`${p.url}/v1/quarantine?run=${runId}`)).body.rows;
      assert.equal(q.filter((x) => x.released_by === s.run).length, 5);
      const bad = await post(`${p.url}/v1/quarantine/release`, JSON.stringify({}));
      assert.equal(bad.status, 400);
    } finally {
      await p.stop();
    }
    const curated = await duck(`SELECT count(*)::INT FROM read_parquet('${zones}/curated/ticks/*/*/*.parquet', hive_partitioning = true) WHERE symbol = 'SAP'`);
    assert.deepEqual(curated[0], [5]);
  });

  test('replay rebuilds the hour: byte-identical curated file, no store row added twice', async () => {
    const p = await start(testConfig(tmp.dir, { qualitySuite: suiteV2 }));
    const hourDir = `curated/ticks/date=${formatIsoMicros(HOUR).slice(0, 10)}/hour=${formatIsoMicros(HOUR).slice(11, 13)}/`;
    const snapshot = () =>
      filesUnder(zones)
        .filter((x) => x.startsWith(hourDir))
        .map((x) => [x, readFileSync(join(zones, x)).toString('base64')]);
    try {
      const body = JSON.stringify({ zone: 'raw', from: formatIsoMicros(HOUR + 1), to: formatIsoMicros(HOUR + H - 1) });
      const r1 = await post(`${p.url}/v1/replay`, body);
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      const s1 = r1.body.result as Record<string, number>;
      assert.deepEqual([s1.hours, s1.rows_read, s1.passed, s1.failed, s1.stored], [1, all.length, 35, 3, 0]);
      const first = snapshot();
      assert.equal(first.length, 1, `one curated file for the hour: ${JSON.stringify(first.map((x) => x[0]))}`);
      const r2 = await post(`${p.url}/v1/replay`, body);
      assert.deepEqual((r2.body.result as Record<string, number>).stored, 0);
      assert.deepEqual(snapshot(), first);
      const symbols = (await getJson<{ symbols: Array<{ symbol: string; ticks: number }> }>(`${p.url}/v1/symbols`)).body.symbols;
      assert.deepEqual(Object.fromEntries(symbols.map((x) => [x.symbol, x.ticks])), { AAPL: 15, MSFT: 15, SAP: 5 });
      // Progress as NDJSON for the CLI's bar.
      const res = await fetch(`${p.url}/v1/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...JSON.parse(body), progress: true }) });
      const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, Json>);
      assert.ok(lines.some((l) => l.progress?.unit === 'hours'));
      assert.equal(lines.at(-1)!.result.rows_read, all.length);
    } finally {
      await p.stop();
    }
    const curated = await duck(`SELECT count(*)::INT FROM read_parquet('${zones}/curated/ticks/*/*/*.parquet', hive_partitioning = true)`);
    assert.deepEqual(curated[0], [35]);
  });
});
