import type { Tick } from '../src/core/tick.ts';

/** Synthetic ticks shaped like the simulated feed (20 symbols, some quotes and sequence numbers), for the standalone ceiling scripts. */
export function makeTicks(n: number): Tick[] {
  const symbols = Array.from({ length: 20 }, (_, i) => `SYM${i}`);
  const out: Tick[] = new Array(n);
  let ts = Date.UTC(2024, 0, 2) * 1000;
  for (let i = 0; i < n; i++) {
    ts += 1 + (i % 7);
    const price = 100 + ((i * 7919) % 1000) / 100;
    out[i] = {
      symbol: symbols[i % symbols.length]!,
      ts,
      price,
      size: (i % 50) + 1,
      bid: i % 3 === 0 ? null : price - 0.01,
      ask: i % 3 === 0 ? null : price + 0.01,
      currency: 'USD',
      provider: 'sim',
      seq: i % 4 === 0 ? null : i,
      recvTs: ts + 250,
    };
  }
  return out;
}
