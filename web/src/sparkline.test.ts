import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sparklinePath } from './sparkline.ts';

describe('sparklinePath', () => {
  it('spreads points across the width and puts the lowest at the bottom, the highest at the top', () => {
    assert.equal(sparklinePath([1, 2, 3], 3, 10, 10, 0), 'M0,10L5,5L10,0');
    assert.equal(sparklinePath([3, 1], 2, 100, 20, 2), 'M0,2L100,18');
  });

  it('draws only the first `count` values', () => {
    const buf = new Float64Array([5, 6, 99, 99]);
    assert.equal(sparklinePath(buf, 2, 10, 10, 0), 'M0,10L10,0');
  });

  it('draws a flat series across the middle, and nothing for fewer than two values', () => {
    assert.equal(sparklinePath([7, 7, 7], 3, 10, 8, 1), 'M0,4L5,4L10,4');
    assert.equal(sparklinePath([7], 1, 10, 8), '');
    assert.equal(sparklinePath([], 0, 10, 8), '');
  });

  it('rounds coordinates to a tenth of a pixel', () => {
    assert.equal(sparklinePath([0, 1, 0.3333], 3, 10, 10, 0), 'M0,10L5,0L10,6.7');
  });
});
