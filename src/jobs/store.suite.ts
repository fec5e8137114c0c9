/** What every poll-job store must do; run against the file store and the real Postgres. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PollJob } from './model.ts';
import type { JobStore } from './store.ts';

export interface Opened {
  store: JobStore;
  /** A second store on the same data: another replica (null when the kind allows only one opener). */
  second: () => Promise<JobStore | null>;
  /** The same data opened again after `store` closed: a restart. */
  reopen: () => Promise<JobStore>;
  cleanup: () => Promise<void>;
}

export function job(id: string, over: Partial<PollJob> = {}): PollJob {
  return {
    id,
    provider: 'yahoo',
    symbols: ['AAPL', 'MSFT'],
    intervalMs: 1000,
    createdAt: 1_000,
    createdBy: 'admin',
    nextRunAt: 10_000,
    lastRunAt: null,
    lastSuccessAt: null,
    lastError: null,
    runs: 0,
    failures: 0,
    consecutiveFailures: 0,
    ticks: 0,
    ...over,
  };
}

export function jobStoreConformance(name: string, open: () => Promise<Opened>): void {
  test(`${name}: create, get, list, remove; jobs survive a reopen`, async () => {
    const o = await open();
    try {
      await o.store.create(job('pj_a', { createdAt: 2 }));
      await o.store.create(job('pj_b', { createdAt: 1, symbols: ['BTC-USD'] }));
      await assert.rejects(o.store.create(job('pj_a')));
      assert.deepEqual((await o.store.list()).map((j) => j.id), ['pj_b', 'pj_a']);
      assert.deepEqual(await o.store.get('pj_b'), job('pj_b', { createdAt: 1, symbols: ['BTC-USD'] }));
      assert.equal(await o.store.get('pj_none'), null);
      assert.equal(await o.store.remove('pj_b'), true);
      assert.equal(await o.store.remove('pj_b'), false);
      await o.store.close();
      const again = await o.reopen();
      o.store = again;
      assert.deepEqual((await again.list()).map((j) => j.id), ['pj_a']);
    } finally {
      await o.cleanup();
    }
  });

  test(`${name}: claimDue hands out each run once and moves the job one interval on`, async () => {
    const o = await open();
    try {
      await o.store.create(job('pj_a', { nextRunAt: 10_000, intervalMs: 1000 }));
      await o.store.create(job('pj_b', { nextRunAt: 50_000 }));
      assert.deepEqual(await o.store.claimDue(9_999, 10), []);
      const first = await o.store.claimDue(10_000, 10);
      assert.deepEqual(first.map((j) => [j.id, j.nextRunAt]), [['pj_a', 11_000]]);
      assert.deepEqual(await o.store.claimDue(10_500, 10), [], 'claimed already');
      // Fell far behind (a stopped process): one run now, the next one interval later, no catch-up burst.
      const late = await o.store.claimDue(20_000, 10);
      assert.deepEqual(late.map((j) => [j.id, j.nextRunAt]), [['pj_a', 21_000]]);
      await o.store.report('pj_a', { at: 20_100, ok: false, ticks: 0, error: 'HTTP 500' });
      await o.store.report('pj_a', { at: 21_100, ok: true, ticks: 2, error: null });
      await o.store.report('pj_a', { at: 22_100, ok: false, ticks: 0, error: 'timeout' });
      await o.store.report('pj_gone', { at: 22_100, ok: true, ticks: 1, error: null });
      const j = (await o.store.get('pj_a'))!;
      assert.deepEqual(
        [j.runs, j.failures, j.consecutiveFailures, j.ticks, j.lastError, j.lastSuccessAt, j.lastRunAt],
        [3, 2, 1, 2, 'timeout', 21_100, 22_100],
      );
    } finally {
      await o.cleanup();
    }
  });

  test(`${name}: competing claimers get every run exactly once`, async () => {
    const o = await open();
    try {
      const other = (await o.second()) ?? o.store;
      for (let i = 0; i < 5; i++) await o.store.create(job(`pj_${i}`, { nextRunAt: 0, intervalMs: 100 }));
      const claimed: string[] = [];
      // Ten rounds of 100 ms of virtual time, each claimed by both at once: 5 jobs × 10 runs.
      for (let now = 0; now < 1000; now += 100) {
        const [a, b] = await Promise.all([o.store.claimDue(now, 100), other.claimDue(now, 100)]);
        claimed.push(...a.map((j) => `${j.id}@${now}`), ...b.map((j) => `${j.id}@${now}`));
      }
      assert.equal(claimed.length, 50, claimed.join(' '));
      assert.equal(new Set(claimed).size, 50);
      if (other !== o.store) await other.close();
    } finally {
      await o.cleanup();
    }
  });
}
