import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../sources/random.ts';
import { TupleTable, hashTuple } from './tuple-table.ts';

test('behaves like a Map of tuples through growth, lazy indexing and updates', () => {
  const rng = new Rng(5);
  const table = new TupleTable(3);
  const reference = new Map<string, number>();
  const key = new Float64Array(3);
  for (let i = 0; i < 50_000; i++) {
    // Few distinct values per column, so keys repeat and equal hashes/tags get exercised.
    key[0] = Math.floor(rng.next() * 50);
    key[1] = Math.floor(rng.next() * 40) / 8;
    key[2] = 1.7e15 + Math.floor(rng.next() * 30);
    const k = key.join(',');
    const op = rng.next();
    if (op < 0.4) table.set(key, i);
    else if (op < 0.6 && !reference.has(k)) table.append(key, i);
    else {
      const want = reference.get(k);
      assert.equal(table.get(key), want ?? NaN, k);
      continue;
    }
    reference.set(k, i);
  }
  assert.equal(table.size, reference.size);
  for (const [k, v] of reference) assert.equal(table.get(Float64Array.from(k.split(',').map(Number))), v);
});

test('clear empties the table and it is reusable', () => {
  const table = new TupleTable(1);
  for (let i = 0; i < 5000; i++) table.append(Float64Array.of(i), i * 2);
  assert.equal(table.get(Float64Array.of(4321)), 8642);
  table.clear();
  assert.equal(table.size, 0);
  assert.ok(Number.isNaN(table.get(Float64Array.of(4321))));
  table.append(Float64Array.of(7), 1);
  assert.equal(table.get(Float64Array.of(7)), 1);
  assert.ok(Number.isNaN(table.get(Float64Array.of(4321))));
});

test('hashTuple depends on every number and on order', () => {
  const h = (...xs: number[]) => hashTuple(Float64Array.from(xs), 0, xs.length);
  assert.notEqual(h(1, 2), h(2, 1));
  assert.notEqual(h(1.7e15, 1), h(1.7e15 + 1, 1));
  assert.notEqual(h(0.1), h(0.2));
  assert.equal(h(3, 4), hashTuple(Float64Array.of(9, 3, 4), 1, 2));
  assert.ok(h(1, 2) >= 0 && h(1, 2) <= 0x7fffffff);
});
