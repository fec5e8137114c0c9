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

test('formatIsoMicros stays exact when event and receive times of different seconds alternate', () => {
  const old = Date.UTC(2024, 4, 28, 14, 30, 5) * 1000 + 7;
  const now = Date.UTC(2026, 10, 21, 19, 0, 0) * 1000 + 123456;
  const third = Date.UTC(2025, 0, 1, 0, 0, 0) * 1000;
  for (let i = 0; i < 3; i++) {
    assert.equal(formatIsoMicros(old + i), `2024-05-28T14:30:05.00000${7 + i}Z`);
    assert.equal(formatIsoMicros(now), '2026-11-21T19:00:00.123456Z');
  }
  assert.equal(formatIsoMicros(third), '2025-01-01T00:00:00.000000Z');
  assert.equal(formatIsoMicros(old), '2024-05-28T14:30:05.000007Z');
  assert.equal(formatIsoMicros(now), '2026-11-21T19:00:00.123456Z');
});
