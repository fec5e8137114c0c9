import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ring } from './ring.ts';

describe('Ring', () => {
  it('keeps the newest `capacity` values, oldest first', () => {
    const r = new Ring(3);
    const out = new Float64Array(3);
    assert.equal(r.copyTo(out), 0);
    assert.ok(Number.isNaN(r.last()));
    r.push(1);
    r.push(2);
    assert.equal(r.copyTo(out), 2);
    assert.deepEqual([...out.subarray(0, 2)], [1, 2]);
    for (const v of [3, 4, 5]) r.push(v);
    assert.equal(r.length, 3);
    assert.equal(r.copyTo(out), 3);
    assert.deepEqual([...out], [3, 4, 5]);
    assert.equal(r.last(), 5);
  });

  it('copies the newest values when the target is shorter', () => {
    const r = new Ring(5);
    for (let i = 1; i <= 7; i++) r.push(i);
    const out = new Float64Array(2);
    assert.equal(r.copyTo(out), 2);
    assert.deepEqual([...out], [6, 7]);
  });

  it('clears, and refuses a capacity that is not a positive integer', () => {
    const r = new Ring(2);
    r.push(1);
    r.clear();
    assert.equal(r.length, 0);
    assert.throws(() => new Ring(0), /capacity must be a positive integer, got 0/);
  });
});
