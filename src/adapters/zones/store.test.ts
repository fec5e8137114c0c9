import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalStore } from './store.ts';

const KEYS = [
  'raw/ticks/date=2024-01-01/hour=23/part-1.jsonl',
  'raw/ticks/date=2024-01-02/hour=00/part-1.jsonl',
  'raw/ticks/date=2024-01-02/hour=00/part-2.jsonl',
  'raw/ticks/date=2024-01-02/hour=01/part-1.jsonl',
  'raw/ticks/date=2024-01-02/hour=10/part-1.jsonl',
  'raw/ticks/date=2024-01-03/hour=00/part-1.jsonl',
  'raw/ticks-2/date=2024-01-02/hour=00/part-1.jsonl',
];

describe('LocalStore', () => {
  let root: string;
  let store: LocalStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'tickline-localstore-'));
    store = new LocalStore(root);
    for (const key of KEYS) {
      await mkdir(join(root, key, '..'), { recursive: true });
      await writeFile(join(root, key), key);
    }
    await writeFile(join(root, 'raw/ticks/date=2024-01-02/hour=00/.part-3.jsonl.inprogress'), 'hidden');
    await mkdir(join(root, 'raw/ticks/.tmp'));
    await writeFile(join(root, 'raw/ticks/.tmp/x'), 'hidden');
  });
  after(() => rm(root, { recursive: true, force: true }));

  const collect = async (prefix: string, after?: string, before?: string) => {
    const out: string[] = [];
    for await (const page of store.listKeys(prefix, after, before)) out.push(...page);
    return out.sort();
  };

  it('lists every visible key under a prefix, and only under it', async () => {
    assert.deepEqual(await collect('raw/ticks/'), KEYS.filter((k) => k.startsWith('raw/ticks/')));
    assert.deepEqual(await collect('raw/'), [...KEYS].sort());
    assert.deepEqual(await collect('nothing/'), []);
  });

  it('bounds the listing by key, exclusive at both ends, as partition keys are used', async () => {
    const got = await collect('raw/ticks/', 'raw/ticks/date=2024-01-02/hour=00', 'raw/ticks/date=2024-01-02/hour=10');
    assert.deepEqual(got, KEYS.slice(1, 4));
    assert.deepEqual(await collect('raw/ticks/', 'raw/ticks/date=2024-01-02/hour=10'), KEYS.slice(4, 6));
    assert.deepEqual(await collect('raw/ticks/', undefined, 'raw/ticks/date=2024-01-02/hour=00'), KEYS.slice(0, 1));
  });

  it('lists child directories, publishes by rename, prunes empty directories', async () => {
    assert.deepEqual((await store.childDirs('raw/')).sort(), ['ticks', 'ticks-2']);
    await writeFile(join(root, 'staged'), 'body');
    await store.publish(join(root, 'staged'), 'raw/new/date=2024-01-05/hour=00/part-9.jsonl');
    assert.equal(await readFile(join(root, 'raw/new/date=2024-01-05/hour=00/part-9.jsonl'), 'utf8'), 'body');
    await store.remove(['raw/new/date=2024-01-05/hour=00/part-9.jsonl', 'raw/new/missing.jsonl']);
    await store.prune('raw/new/date=2024-01-05/hour=00');
    assert.deepEqual((await readdir(join(root, 'raw'))).sort(), ['ticks', 'ticks-2']);
  });

  it('replaces small objects atomically and reads missing ones as null', async () => {
    await store.put('_docs/a/b.json', Buffer.from('1'));
    await store.put('_docs/a/b.json', Buffer.from('2'));
    assert.equal((await store.get('_docs/a/b.json'))?.toString(), '2');
    assert.equal(await store.get('_docs/a/none.json'), null);
    assert.deepEqual(await readdir(join(root, '_docs/a')), ['b.json']);
  });
});
