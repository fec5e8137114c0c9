import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tick } from '../../core/tick.ts';
import { createFileZones } from './file.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0) * 1000;
const tick = (i: number): Tick => ({ symbol: 'AAPL', ts: T0 + i, price: 100, size: 1, bid: null, ask: null, currency: 'USD', provider: 'sim', seq: i, recvTs: T0 + i });

async function hidden(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.startsWith('.') && e.name.includes('jsonl')) out.push(e.name);
    }
  };
  await walk(root);
  return out;
}

test("a second process that does not own the directory leaves the owner's files in progress alone", async () => {
  const root = await mkdtemp(join(tmpdir(), 'tickline-owner-'));
  try {
    const owner = await createFileZones(root, { rollMs: 3_600_000 });
    await owner.append('raw', 'ticks', [tick(1), tick(2)]);
    const inProgress = await hidden(root);
    assert.equal(inProgress.length, 1, 'the owner has one staged raw file');

    const reader = await createFileZones(root, { owner: false });
    assert.deepEqual(await hidden(root), inProgress, 'still staged, untouched');
    assert.deepEqual(await reader.list('raw'), []);
    await reader.close();

    // The owner keeps appending to the same file and publishes it whole.
    await owner.append('raw', 'ticks', [tick(3)]);
    await owner.close();
    const rows = [];
    const check = await createFileZones(root, { owner: false });
    for await (const b of check.read('raw', 'ticks', {})) rows.push(...b);
    assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3]);
    await check.close();

    // Contrast: an owning open treats staged files as a crash's leftovers and publishes them.
    const crashed = await createFileZones(root, { rollMs: 3_600_000 });
    await crashed.append('raw', 'ticks', [tick(4)]);
    const second = await createFileZones(root);
    assert.equal((await hidden(root)).length, 0, 'an owner recovers what it finds staged');
    await second.close();
    await crashed.close().catch(() => undefined);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
