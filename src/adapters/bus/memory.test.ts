import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tick } from '../../core/tick.ts';
import { tick } from '../../../test/fixtures/ticks.ts';
import { MemoryBus } from './memory.ts';

const batch = (n: number): Tick[] => Array.from({ length: n }, (_, i) => tick({ seq: i }));

test('publish waits while the bus is full and resumes when the consumer acknowledges', async () => {
  const bus = new MemoryBus({ capacity: 100, batchMax: 1000 });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let handled = 0;
  await bus.subscribe('t', async (b) => {
    await gate;
    handled += b.length;
  }, { group: 'g', maxInFlight: 1 });
  await bus.publish('t', batch(60));
  let second = false;
  const p = bus.publish('t', batch(60)).then(() => (second = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(second, false, 'publisher must wait: 60 + 60 > capacity 100');
  assert.equal(bus.lag('t'), 60);
  release();
  await p;
  assert.equal(second, true);
  await bus.close();
  assert.equal(handled, 120);
  assert.equal(bus.lag('t'), 0);
});

test('queued small batches are coalesced up to batchMax', async () => {
  const bus = new MemoryBus({ capacity: 10_000, batchMax: 250 });
  for (let i = 0; i < 10; i++) await bus.publish('t', batch(100));
  const sizes: number[] = [];
  await bus.subscribe('t', async (b) => void sizes.push(b.length), { group: 'g', maxInFlight: 1 });
  await bus.close();
  assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
  assert.ok(sizes.every((s) => s <= 250));
  assert.ok(sizes.length < 10, `expected coalescing, got ${sizes.join(',')}`);
});

test('acknowledgement is in order: a fast later batch does not release capacity past a slow earlier one', async () => {
  const bus = new MemoryBus({ capacity: 1000, batchMax: 10 });
  let slowDone!: () => void;
  const slow = new Promise<void>((r) => (slowDone = r));
  let first = true;
  await bus.subscribe('t', async () => {
    if (first) {
      first = false;
      await slow;
    }
  }, { group: 'g', maxInFlight: 4 });
  await bus.publish('t', batch(10));
  await bus.publish('t', batch(10));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(bus.lag('t'), 20, 'the second batch finished, but the first has not');
  slowDone();
  await bus.close();
  assert.equal(bus.lag('t'), 0);
});

test('a second consumer on the same topic is refused with a pointer to real buses', async () => {
  const bus = new MemoryBus({ capacity: 10, batchMax: 10 });
  await bus.subscribe('t', async () => {}, { group: 'a' });
  await assert.rejects(() => bus.subscribe('t', async () => {}, { group: 'b' }), /kafka:\/\/ or nats:\/\//);
  await bus.close();
});
