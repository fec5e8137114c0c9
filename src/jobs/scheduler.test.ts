import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { serviceUrl, skipUnless } from '../../test/support/services.ts';
import { silentLogger } from '../core/log.ts';
import type { Tick } from '../core/tick.ts';
import type { ProviderHub } from '../sources/hub.ts';
import { openJobStore } from './open-store.ts';
import { PollScheduler } from './scheduler.ts';
import { job } from './store.suite.ts';
import type { JobStore } from './store.ts';

/** A provider answering every call with a fresh quote per symbol (so no call is deduplicated away). */
function fakeHub(calls: string[], fail = false): ProviderHub {
  let n = 0;
  return {
    quotes: () => ({
      quotes: async (symbols: readonly string[]) => {
        calls.push(symbols.join(','));
        if (fail) throw new Error('HTTP 503 from the provider');
        n++;
        return { items: symbols.map((s) => ({ symbol: s, ts: n, price: 100 + n, size: 0, bid: null, ask: null, currency: 'USD', provider: 'yahoo', seq: null, recvTs: n }) as Tick), rejected: [] };
      },
    }),
    onRejected: () => undefined,
  } as unknown as ProviderHub;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('poll scheduler', () => {
  test('runs a due job, publishes its ticks, records failures with the error, and stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickline-sched-'));
    const store = await openJobStore(`file://${join(dir, 'jobs.json')}`);
    try {
      await store.create(job('pj_ok', { nextRunAt: 0, intervalMs: 60_000 }));
      const published: Tick[][] = [];
      const calls: string[] = [];
      const s = new PollScheduler({ store, hub: fakeHub(calls), logger: silentLogger(), publish: async (t) => void published.push(t), tickMs: 10 });
      s.start();
      await wait(150);
      await s.stop();
      assert.deepEqual(calls, ['AAPL,MSFT'], 'one run per interval');
      assert.equal(published.flat().length, 2);
      const j = (await store.get('pj_ok'))!;
      assert.deepEqual([j.runs, j.ticks, j.lastError], [1, 2, null]);
      assert.deepEqual(s.stats().map((x) => [x.name, x.emitted]), [['poll:pj_ok yahoo AAPL,MSFT', 2]]);

      await store.create(job('pj_bad', { nextRunAt: 0, intervalMs: 60_000 }));
      const bad = new PollScheduler({ store, hub: fakeHub([], true), logger: silentLogger(), publish: async () => undefined, tickMs: 10 });
      bad.start();
      await wait(150);
      await bad.stop();
      const b = (await store.get('pj_bad'))!;
      assert.deepEqual([b.runs, b.failures, b.lastError], [1, 1, 'HTTP 503 from the provider']);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unchanged quote (a closed market) is not published again by the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickline-sched-'));
    const store = await openJobStore(`file://${join(dir, 'jobs.json')}`);
    try {
      await store.create(job('pj_same', { nextRunAt: 0, intervalMs: 30 }));
      const same = { symbol: 'AAPL', ts: 1, price: 100, size: 0, bid: null, ask: null, currency: 'USD', provider: 'yahoo', seq: null, recvTs: 1 } as Tick;
      const hub = { quotes: () => ({ quotes: async () => ({ items: [same], rejected: [] }) }), onRejected: () => undefined } as unknown as ProviderHub;
      const published: Tick[] = [];
      const s = new PollScheduler({ store, hub, logger: silentLogger(), publish: async (t) => void published.push(...t), tickMs: 5 });
      s.start();
      await wait(200);
      await s.stop();
      const j = (await store.get('pj_same'))!;
      assert.ok(j.runs >= 3, `runs: ${j.runs}`);
      assert.equal(published.length, 1);
      assert.equal(j.ticks, 1);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two competing schedulers on one Postgres store run each due job once per interval', { skip: skipUnless('POSTGRES') }, async () => {
    const base = serviceUrl('POSTGRES')!;
    const schema = `tl_sched_${randomBytes(5).toString('hex')}`;
    const u = new URL(base);
    u.searchParams.set('schema', schema);
    const stores: JobStore[] = [await openJobStore(u.href), await openJobStore(u.href)];
    const calls: string[][] = [[], []];
    try {
      const start = Date.now();
      for (let i = 0; i < 3; i++) await stores[0]!.create(job(`pj_${i}`, { nextRunAt: start, intervalMs: 300, symbols: [`S${i}`] }));
      const schedulers = stores.map((store, k) => new PollScheduler({ store, hub: fakeHub(calls[k]!), logger: silentLogger(), publish: async () => undefined, tickMs: 15 }));
      for (const s of schedulers) s.start();
      await wait(1_450);
      await Promise.all(schedulers.map((s) => s.stop()));
      const elapsed = Date.now() - start;
      const all = [...calls[0]!, ...calls[1]!];
      const expected = Math.floor(elapsed / 300) + 1;
      for (let i = 0; i < 3; i++) {
        const n = all.filter((c) => c === `S${i}`).length;
        assert.ok(n >= expected - 1 && n <= expected, `job ${i}: ${n} runs in ${elapsed} ms (one per 300 ms: ${expected})`);
      }
      // Which scheduler wins a claim is up to timing (one may win them all); what matters is once per run.
      const runs = (await stores[0]!.list()).reduce((n, j) => n + j.runs, 0);
      assert.equal(runs, all.length, 'every run recorded once');
    } finally {
      for (const s of stores) await s.close();
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
