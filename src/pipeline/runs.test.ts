import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import type { Zones } from '../ports/zones.ts';
import type { GateResult } from '../quality/gate.ts';
import type { Suite } from '../quality/suite.ts';
import { isRunId, newRunId, RunRecorder, runKey, SAMPLE_MAX, type RunDoc } from './runs.ts';

const suite: Suite = {
  name: 'desk',
  version: '7',
  file: '/etc/desk.yaml',
  expectations: [
    { name: 'price_positive', type: 'between', column: 'price', mostly: 1, action: 'quarantine', params: { min: 0 } },
    { name: 'currency_ok', type: 'in_set', column: 'currency', mostly: 0.9, action: 'quarantine', params: { values: ['USD'] } },
  ],
};

function tick(i: number, price = 100): Tick {
  return { symbol: 'AAPL', ts: 1_700_000_000_000_000 + i, price, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq: i, recvTs: 1_700_000_000_000_000 + i };
}

function docsZones(): { zones: Zones; docs: Map<string, string> } {
  const docs = new Map<string, string>();
  const zones = {
    putDoc: async (key: string, body: string) => void docs.set(key, body),
  } as unknown as Zones;
  return { zones, docs };
}

function result(passed: number, failedPrice: number, failedCurrency: number): GateResult {
  const failed = [...Array(failedPrice + failedCurrency).keys()].map((i) => tick(1000 + i, i < failedPrice ? -1 : 100));
  return {
    passed: [...Array(passed).keys()].map((i) => tick(i)),
    failed,
    failures: failed.map((t) =>
      t.price < 0
        ? [{ expectation: 'price_positive', type: 'between', column: 'price', observed: t.price, threshold: '> 0', action: 'quarantine' as const }]
        : [{ expectation: 'currency_ok', type: 'in_set', column: 'currency', observed: 'EUR', threshold: 'in {USD}', action: 'quarantine' as const }],
    ),
    warned: 0,
    expectations: [
      { name: 'price_positive', type: 'between', column: 'price', mostly: 1, action: 'quarantine', evaluated: passed + failed.length, failed: failedPrice, success: failedPrice === 0 },
      { name: 'currency_ok', type: 'in_set', column: 'currency', mostly: 0.9, action: 'quarantine', evaluated: passed + failed.length, failed: failedCurrency, success: true },
    ],
    verdict: failedPrice === 0 ? 'PASS' : 'FAIL',
  };
}

test('run ids sort by start time and map to a dated key; anything else maps to nothing', () => {
  const id = newRunId(Date.UTC(2026, 10, 21, 16, 30, 5) * 1000);
  assert.match(id, /^20261121T163005Z-[0-9a-f]{6}$/);
  assert.ok(isRunId(id));
  assert.equal(runKey(id), `quality/runs/2026-11-21/${id}.json`);
  for (const bad of ['../x', '20261121T163005Z-zzzzzz', '', `${id}/..`]) assert.equal(runKey(bad), null);
});

test('a run sums batches, judges mostly over the whole run and records where its quarantined rows are', async () => {
  const { zones, docs } = docsZones();
  const rec = new RunRecorder({ zones, logger: silentLogger(), suite });
  rec.record(result(90, 0, 5));
  rec.record(result(95, 0, 5));
  let doc = rec.current();
  assert.deepEqual(doc.rows, { evaluated: 195, passed: 185, failed: 10, warned: 0 });
  assert.deepEqual(doc.batches, { pass: 2, fail: 0 });
  // 10 of 195 failed currency: 94.9 % passed ≥ mostly 0.9.
  assert.equal(doc.expectations[1]!.success, true);
  assert.equal(doc.verdict, 'PASS');
  rec.record(result(0, 0, 20)); // now 30 of 215 failed: 86 % < 90 %
  doc = rec.current();
  assert.equal(doc.expectations[1]!.success, false);
  assert.equal(doc.expectations[1]!.unexpected_percent, 13.9535);
  assert.equal(doc.verdict, 'FAIL');
  assert.deepEqual(doc.quarantine_range, { from: '2023-11-14T22:13:20.001000Z', to: '2023-11-14T22:13:20.001019Z' });
  const first = doc.id;
  const closed = await rec.roll();
  assert.equal(closed.status, 'closed');
  assert.ok(closed.ended_at);
  const saved = JSON.parse(docs.get(runKey(first)!)!) as RunDoc;
  assert.deepEqual(saved.rows, closed.rows);
  assert.equal(saved.suite_version, '7');
  assert.notEqual(rec.runId, first, 'a new run starts after a roll');
  assert.equal(rec.current().rows.evaluated, 0);
  assert.equal(await rec.close(), null, 'an empty run is not saved');
});

test('the failure sample is bounded', () => {
  const { zones } = docsZones();
  const rec = new RunRecorder({ zones, logger: silentLogger(), suite, kind: 'release' });
  for (let i = 0; i < 5; i++) rec.record(result(0, 50, 0));
  const doc = rec.current();
  assert.equal(doc.failures_sample.length, SAMPLE_MAX);
  assert.equal(doc.rows.failed, 250);
  assert.deepEqual(doc.failures_sample[0], { symbol: 'AAPL', ts: '2023-11-14T22:13:20.001000Z', provider: 'sim', seq: 1000, price: -1, expectation: 'price_positive', observed: -1, threshold: '> 0', action: 'quarantine' });
});
