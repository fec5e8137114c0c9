import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIsoMicros, parseDurationMicros, parseIsoMicros, partitionOf, toMicros } from './time.ts';

test('ISO timestamps keep microseconds and round-trip', () => {
  const us = parseIsoMicros('2024-03-05T14:30:01.123456Z');
  assert.equal(us, Date.UTC(2024, 2, 5, 14, 30, 1) * 1000 + 123456);
  assert.equal(formatIsoMicros(us!), '2024-03-05T14:30:01.123456Z');
  // Nanoseconds are truncated to µs, not rounded into the next second.
  assert.equal(parseIsoMicros('2024-03-05T14:30:01.9999999Z'), Date.UTC(2024, 2, 5, 14, 30, 1) * 1000 + 999999);
});

test('offsets convert to UTC and a missing offset means UTC', () => {
  assert.equal(parseIsoMicros('2024-03-05T16:30:00+02:00'), parseIsoMicros('2024-03-05T14:30:00Z'));
  assert.equal(parseIsoMicros('2024-03-05T14:30:00'), parseIsoMicros('2024-03-05T14:30:00Z'));
  assert.equal(parseIsoMicros('2024-03-05'), Date.UTC(2024, 2, 5) * 1000);
});

test('impossible dates are rejected rather than rolled over', () => {
  assert.equal(parseIsoMicros('2024-13-01T00:00:00Z'), undefined);
  assert.equal(parseIsoMicros('2024-02-30T00:00:00Z'), undefined);
  assert.equal(parseIsoMicros('2024-01-01T25:00:00Z'), undefined);
  assert.equal(parseIsoMicros('yesterday'), undefined);
});

test('epoch numbers: unit inferred from magnitude', () => {
  const s = 1_700_000_000;
  assert.equal(toMicros(s), s * 1e6);
  assert.equal(toMicros(s * 1e3), s * 1e6);
  assert.equal(toMicros(s * 1e6 + 7), s * 1e6 + 7);
  assert.equal(toMicros(s * 1e9), s * 1e6);
  assert.equal(toMicros(String(s)), s * 1e6);
  assert.equal(toMicros(-1), undefined);
  assert.equal(toMicros(Number.NaN), undefined);
  assert.equal(toMicros({}), undefined);
});

test('partitions and durations', () => {
  assert.deepEqual(partitionOf(parseIsoMicros('2024-03-05T04:59:59.999999Z')!), { date: '2024-03-05', hour: '04' });
  assert.equal(parseDurationMicros('5s'), 5e6);
  assert.equal(parseDurationMicros('250ms'), 250_000);
  assert.equal(parseDurationMicros('1d'), 86_400e6);
  assert.equal(parseDurationMicros('5 parsecs'), undefined);
});
