/**
 * Writer process for zones.crash.test.ts: appends to the raw and curated zones of `<url>` in a loop
 * until it is killed, printing `ack <zone> <batch>` once each append has resolved and `flushed` after
 * each flush. Batch `b` holds the ticks with seq `b * BATCH … b * BATCH + BATCH - 1`, spread over
 * three hours, so the parent can tell exactly which rows were acknowledged.
 *
 * usage: node zones.crash-child.ts <zones url> <data dir> <first batch>
 */
import { zonesRegistry } from '../../src/adapters/zones/index.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { Tick } from '../../src/core/tick.ts';

export const BATCH = 50;
export const H0 = Date.UTC(2024, 0, 2, 22) * 1000;
const HOUR = 3_600_000_000;

export function batchTicks(b: number): Tick[] {
  return Array.from({ length: BATCH }, (_, k) => {
    const seq = b * BATCH + k;
    const ts = H0 + (seq % 3) * HOUR + seq;
    return { symbol: 'AAPL', ts, price: 100 + k, size: 1, bid: null, ask: null, currency: 'USD', provider: 'crash', seq, recvTs: ts + 1 };
  });
}

async function main(url: string, dataDir: string, first: number): Promise<void> {
  const zones = await zonesRegistry.create(url, { dataDir, logger: silentLogger() });
  process.stdout.write('open\n');
  for (let b = first; ; b++) {
    const ticks = batchTicks(b);
    // Not awaited together: appends to both zones are in flight at once, as in the pipeline.
    const raw = zones.append('raw', 'ticks', ticks).then(() => process.stdout.write(`ack raw ${b}\n`));
    const curated = zones.append('curated', 'ticks', ticks).then(() => process.stdout.write(`ack curated ${b}\n`));
    await Promise.all([raw, curated]);
    if (b % 4 === 3) {
      await zones.flush();
      process.stdout.write('flushed\n');
    }
  }
}

if (process.argv[2] !== undefined) {
  main(process.argv[2], process.argv[3]!, Number(process.argv[4] ?? 0)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
