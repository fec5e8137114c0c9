import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoToMs, parseRetryAfter } from './time.ts';

describe('isoToMs', () => {
  it('keeps microseconds as a fraction of a millisecond', () => {
    assert.equal(isoToMs('2024-05-01T14:30:00.123456Z'), Date.UTC(2024, 4, 1, 14, 30, 0) + 123.456);
    assert.equal(isoToMs('2024-05-01T14:30:00Z'), Date.UTC(2024, 4, 1, 14, 30, 0));
  });

  it('applies offsets and reads a missing zone as UTC', () => {
    assert.equal(isoToMs('2024-05-01T16:30:00+02:00'), Date.UTC(2024, 4, 1, 14, 30, 0));
    assert.equal(isoToMs('2024-05-01T09:30:00-0500'), Date.UTC(2024, 4, 1, 14, 30, 0));
    assert.equal(isoToMs('2024-05-01T14:30:00'), Date.UTC(2024, 4, 1, 14, 30, 0));
  });

  it('gives NaN for anything else', () => {
    assert.ok(Number.isNaN(isoToMs('')));
    assert.ok(Number.isNaN(isoToMs('1714573800')));
    assert.ok(Number.isNaN(isoToMs('2024-05-01')));
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);

  it('reads delta-seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('872', now), 872);
    assert.equal(parseRetryAfter(' 5 ', now), 5);
    assert.equal(parseRetryAfter('Wed, 01 May 2024 12:01:30 GMT', now), 90);
  });

  it('never goes negative, and gives null when absent or unreadable', () => {
    assert.equal(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-3', now), null);
  });
});
