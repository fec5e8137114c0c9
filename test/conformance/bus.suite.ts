import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tick } from '../../src/core/tick.ts';
import type { Bus } from '../../src/ports/bus.ts';
import { tick } from '../fixtures/ticks.ts';

export interface BusFixture {
  bus: Bus;
  /** A topic no other test uses. */
  topic: string;
  /**
   * Another client of the same broker, as a second process would have. Adapters whose consumer groups
   * share a topic between consumers provide it; the in-memory bus does not.
   */
  peer?: () => Promise<Bus>;
  cleanup(): Promise<void>;
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function seqTicks(n: number, symbols: string[]): Tick[] {
  const counters = new Map<string, number>();
  return Array.from({ length: n }, (_, i) => {
    const symbol = symbols[i % symbols.length]!;
    const seq = (counters.get(symbol) ?? 0) + 1;
    counters.set(symbol, seq);
    return tick({ symbol, seq, at: i, price: 100 + (i % 50), bid: 99, ask: 101 });
  });
}

/** The Bus guarantees of src/ports/bus.ts, run unchanged against every adapter. */
export function busConformance(name: string, make: () => Promise<BusFixture>, caps: { sharedGroups: boolean }): void {
  describe(`bus conformance: ${name}`, () => {
    test('delivers every tick, field for field, in per-symbol order', async () => {
      const f = await make();
      try {
        const got: Tick[] = [];
        const sub = await f.bus.subscribe(f.topic, async (b) => void got.push(...b), { group: 'g1' });
        const sent = seqTicks(2_000, ['AAPL', 'MSFT', 'BTC-USD']);
        for (let i = 0; i < sent.length; i += 100) await f.bus.publish(f.topic, sent.slice(i, i + 100));
        await until(() => got.length >= sent.length);
        await sub.stop();
        assert.equal(got.length, sent.length);
        for (const s of ['AAPL', 'MSFT', 'BTC-USD']) {
          const seqs = got.filter((t) => t.symbol === s).map((t) => t.seq);
          assert.deepEqual(seqs, [...seqs].sort((a, b) => a! - b!), `order of ${s}`);
        }
        const key = (t: Tick) => `${t.symbol}/${t.seq}`;
        const sentBy = new Map(sent.map((t) => [key(t), t]));
        for (const t of got) assert.deepEqual(t, sentBy.get(key(t)));
      } finally {
        await f.cleanup();
      }
    });

    test('a rejected batch is delivered again (at least once)', async () => {
      const f = await make();
      try {
        let failures = 0;
        const seen: number[] = [];
        const sub = await f.bus.subscribe(
          f.topic,
          async (b) => {
            if (failures < 2) {
              failures++;
              throw new Error('sink down');
            }
            for (const t of b) seen.push(t.seq!);
          },
          { group: 'g2' },
        );
        await f.bus.publish(f.topic, seqTicks(10, ['AAPL']));
        await until(() => new Set(seen).size >= 10);
        await sub.stop();
        assert.equal(failures, 2);
        assert.deepEqual([...new Set(seen)].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        await f.cleanup();
      }
    });

    test('a batch a stopped consumer never acknowledged goes to the next consumer of the group', async () => {
      const f = await make();
      try {
        let attempts = 0;
        const first = await f.bus.subscribe(f.topic, async () => {
          attempts++;
          throw new Error('this consumer is broken');
        }, { group: 'g4' });
        await f.bus.publish(f.topic, seqTicks(10, ['AAPL']));
        await until(() => attempts > 0);
        await first.stop();
        const next = f.peer ? await f.peer() : f.bus;
        const seen = new Set<number>();
        const second = await next.subscribe(f.topic, async (b) => void b.forEach((t) => seen.add(t.seq!)), { group: 'g4' });
        await until(() => seen.size >= 10);
        await second.stop();
        if (next !== f.bus) await next.close();
        assert.equal(seen.size, 10);
      } finally {
        await f.cleanup();
      }
    });

    // The in-memory bus runs one consumer per topic by design (see MemoryBus).
    if (caps.sharedGroups) test('consumers of one group share the topic: no tick lost, each consumer gets a share', async () => {
      const f = await make();
      try {
        assert.ok(f.peer, 'an adapter with shared groups provides peer()');
        const other = await f.peer();
        const a: Tick[] = [];
        const b: Tick[] = [];
        const symbols = Array.from({ length: 24 }, (_, i) => `SYM${i}`);
        const subA = await f.bus.subscribe(f.topic, async (x) => void a.push(...x), { group: 'shared' });
        const subB = await other.subscribe(f.topic, async (x) => void b.push(...x), { group: 'shared' });
        await new Promise((r) => setTimeout(r, 1_000)); // let the group settle
        const sent = seqTicks(2_400, symbols);
        for (let i = 0; i < sent.length; i += 200) await f.bus.publish(f.topic, sent.slice(i, i + 200));
        const key = (x: Tick) => `${x.symbol}/${x.seq}`;
        await until(() => new Set([...a, ...b].map(key)).size >= sent.length, 30_000);
        await subA.stop();
        await subB.stop();
        await other.close();
        assert.equal(new Set([...a, ...b].map(key)).size, sent.length);
        assert.ok(a.length > 0 && b.length > 0, `both consumers work (a=${a.length}, b=${b.length})`);
        // Per-symbol order holds within each consumer.
        for (const got of [a, b]) {
          for (const s of symbols) {
            const seqs = got.filter((x) => x.symbol === s).map((x) => x.seq!);
            for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]! || seqs.slice(0, i).includes(seqs[i]!), `order of ${s}`);
          }
        }
      } finally {
        await f.cleanup();
      }
    });

    test('close delivers what was accepted; publish after close fails loudly', async () => {
      const f = await make();
      try {
        let n = 0;
        await f.bus.subscribe(f.topic, async (b) => {
          await new Promise((r) => setTimeout(r, 2));
          n += b.length;
        }, { group: 'g3' });
        for (let i = 0; i < 20; i++) await f.bus.publish(f.topic, seqTicks(50, ['AAPL']));
        await f.bus.close();
        assert.equal(n, 1_000);
        await assert.rejects(() => f.bus.publish(f.topic, seqTicks(1, ['AAPL'])), { code: 'TL_ERR_CLOSED' });
        assert.equal((await f.bus.health()).ok, false);
      } finally {
        await f.cleanup();
      }
    });
  });
}
