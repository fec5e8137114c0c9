import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { RateBudget } from './budget.ts';
import type { Clock } from './clock.ts';

test('a bucket allows its burst at once, then one request per refill interval', async () => {
  const clock = new FakeClock();
  const b = new RateBudget([{ capacity: 2, perSecond: 1 }], clock);
  await b.take();
  await b.take();
  assert.deepEqual(clock.sleeps, []);
  await b.take();
  assert.deepEqual(clock.sleeps, [1000]);
  assert.equal(b.available(), 0);
  clock.t += 5000;
  assert.equal(b.available(), 2, 'refills up to capacity, not beyond');
});

test('with several buckets a request waits for the tightest one (per minute and per day)', async () => {
  const clock = new FakeClock();
  const b = new RateBudget([{ capacity: 3, perSecond: 1 }, { capacity: 4, perSecond: 0.01 }], clock);
  for (let i = 0; i < 3; i++) await b.take();
  await b.take();
  assert.deepEqual(clock.sleeps, [1000], 'the fourth waits for the fast bucket');
  await b.take();
  assert.equal(clock.sleeps[1], 99_000, 'the fifth waits for the slow bucket to refill its token');
  assert.ok(clock.sleeps.slice(1).reduce((a, s) => a + s, 0) < 99_010);
  assert.equal(b.sustainedPerSecond, 0.01);
});

test('pauseUntil holds every request until the given time', async () => {
  const clock = new FakeClock();
  const b = new RateBudget([{ capacity: 10, perSecond: 10 }], clock);
  b.pauseUntil(clock.now() + 5000);
  assert.equal(b.available(), 0);
  await b.take();
  assert.deepEqual(clock.sleeps, [5000]);
});

test('a waiter whose signal aborts leaves at once without spending a token, and the queue keeps moving', async () => {
  // A clock whose sleeps only end by abort or by hand: waiting is observable.
  const pending: Array<() => void> = [];
  let now = 0;
  const clock: Clock = {
    now: () => now,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve, reject) => {
        pending.push(resolve);
        signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
  };
  const b = new RateBudget([{ capacity: 1, perSecond: 1 }], clock);
  await b.take();
  const first = new AbortController();
  const second = new AbortController();
  const p1 = b.take(first.signal);
  const p2 = b.take(second.signal);
  second.abort(new Error('stop 2'));
  await assert.rejects(p2, /stop 2/, 'a queued waiter is released at once');
  first.abort(new Error('stop 1'));
  await assert.rejects(p1, /stop 1/);
  now += 1000;
  const p3 = b.take();
  await p3;
  assert.equal(b.available(), 0, 'the aborted waiters spent nothing: the refilled token went to the next one');
});

test('limits are validated', () => {
  assert.throws(() => new RateBudget([{ capacity: 0, perSecond: 1 }]), { code: 'TL_ERR_CONFIG' });
  assert.throws(() => new RateBudget([{ capacity: 1, perSecond: 0 }]), { code: 'TL_ERR_CONFIG' });
  assert.throws(() => new RateBudget([]), { code: 'TL_ERR_CONFIG' });
});
