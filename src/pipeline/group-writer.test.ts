import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupWriter } from './group-writer.ts';

const once = (attempt: () => Promise<void>) => attempt();

test('batches that arrive during a write are written together next, in order', async () => {
  const writes: number[][] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const w = new GroupWriter<number>(async (parts) => {
    writes.push(parts);
    await gate;
  }, once);
  const done: number[] = [];
  const ps = [1, 2, 3, 4].map((n) => w.add(n).then(() => done.push(n)));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(writes, [[1]], 'the first batch goes out at once');
  assert.deepEqual(done, [], 'nobody is acknowledged before the write completes');
  const first = release;
  gate = Promise.resolve();
  first();
  await Promise.all(ps);
  assert.deepEqual(writes, [[1], [2, 3, 4]]);
  assert.deepEqual(done, [1, 2, 3, 4]);
});

test('a failing group is retried whole; a group that finally fails rejects each of its callers', async () => {
  let calls = 0;
  const retryTwice = async (attempt: () => Promise<void>) => {
    try {
      await attempt();
    } catch {
      await attempt();
    }
  };
  const w = new GroupWriter<string>(async () => {
    calls++;
    if (calls === 1) throw new Error('transient');
  }, retryTwice);
  await w.add('a');
  assert.equal(calls, 2);
  const failing = new GroupWriter<string>(async () => {
    throw new Error('down');
  }, once);
  await assert.rejects(() => failing.add('x'), /down/);
  await assert.rejects(() => failing.add('y'), /down/, 'the writer stays usable for later groups');
});

test('with concurrency 2, two groups are in flight at once and the rest wait', async () => {
  let inFlight = 0;
  let peak = 0;
  const writes: number[][] = [];
  const w = new GroupWriter<number>(async (parts) => {
    writes.push(parts);
    peak = Math.max(peak, ++inFlight);
    await new Promise((r) => setTimeout(r, 10));
    inFlight--;
  }, once, { concurrency: 2 });
  await Promise.all([1, 2, 3, 4, 5].map((n) => w.add(n)));
  assert.equal(peak, 2);
  assert.deepEqual(writes, [[1], [2], [3, 4, 5]]);
});
