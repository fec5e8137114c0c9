import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MISSING, formatAge, formatCompact, formatInt, formatMs, formatNumber, formatPct, formatPrice, formatRatio, formatSize, formatUtc, formatWait, priceDecimals } from './format.ts';

describe('priceDecimals', () => {
  it('gives two decimals from 1 up, four below 1, four significant digits below 0.01', () => {
    assert.equal(priceDecimals(67234.5), 2);
    assert.equal(priceDecimals(191.2), 2);
    assert.equal(priceDecimals(1), 2);
    assert.equal(priceDecimals(0.5432), 4);
    assert.equal(priceDecimals(0.01), 4);
    assert.equal(priceDecimals(0.001234), 6);
    assert.equal(priceDecimals(0.00001234), 8);
    assert.equal(priceDecimals(-0.5), 4);
  });

  it('caps very small prices at 10 decimals and treats 0 and non-numbers as ordinary', () => {
    assert.equal(priceDecimals(1e-15), 10);
    assert.equal(priceDecimals(0), 2);
    assert.equal(priceDecimals(Number.NaN), 2);
  });
});

describe('formatPrice', () => {
  it('separates thousands and pads to the precision of the magnitude', () => {
    assert.equal(formatPrice(67234.5), '67,234.50');
    assert.equal(formatPrice(1234567.891), '1,234,567.89');
    assert.equal(formatPrice(191.2), '191.20');
    assert.equal(formatPrice(0.5), '0.5000');
    assert.equal(formatPrice(0.00001234), '0.00001234');
  });

  it('uses the decimals it is given (a column keeps one precision)', () => {
    assert.equal(formatPrice(191.2, 4), '191.2000');
    assert.equal(formatPrice(1000, 0), '1,000');
  });

  it('shows a dash for missing values', () => {
    assert.equal(formatPrice(null), MISSING);
    assert.equal(formatPrice(undefined), MISSING);
    assert.equal(formatPrice(Number.POSITIVE_INFINITY), MISSING);
  });
});

describe('formatPct', () => {
  it('signs moves with + and the minus sign, and shows zero unsigned', () => {
    assert.equal(formatPct(1.234), '+1.23%');
    assert.equal(formatPct(-0.456), '\u22120.46%');
    assert.equal(formatPct(0), '0.00%');
    assert.equal(formatPct(-0.001), '0.00%', 'a change that rounds to zero has no sign');
    assert.equal(formatPct(1234.5), '+1,234.50%');
    assert.equal(formatPct(null), MISSING);
  });
});

describe('other number formats', () => {
  it('formats ratios, counts, rates, compact numbers and latencies', () => {
    assert.equal(formatRatio(0.99873), '99.87%');
    assert.equal(formatRatio(1), '100.00%');
    assert.equal(formatInt(1234567.4), '1,234,567');
    assert.equal(formatNumber(12.34), '12.3');
    assert.equal(formatNumber(12), '12');
    assert.equal(formatNumber(160234.7), '160,235');
    assert.equal(formatCompact(1_234_000), '1.2M');
    assert.equal(formatMs(0.4234), '0.42 ms');
    assert.equal(formatMs(12.34), '12.3 ms');
    assert.equal(formatMs(340.2), '340 ms');
    assert.equal(formatMs(1250), '1.25 s');
    assert.equal(formatMs(null), MISSING);
  });
});

describe('formatSize', () => {
  it('keeps fractional sizes readable: four decimals from 1 up, four significant digits below', () => {
    assert.equal(formatSize(1500), '1,500');
    assert.equal(formatSize(0), '0');
    assert.equal(formatSize(2.5), '2.5');
    assert.equal(formatSize(1234.56789), '1,234.5679');
    assert.equal(formatSize(0.216375), '0.2164');
    assert.equal(formatSize(0.006614), '0.006614');
    assert.equal(formatSize(0.00001234), '0.00001234');
    assert.equal(formatSize(null), MISSING);
  });
});

describe('formatAge', () => {
  it('uses tenths under 10 s, then s, m+s, h+m, d+h', () => {
    assert.equal(formatAge(420), '0.4s');
    assert.equal(formatAge(9_999), '9.9s');
    assert.equal(formatAge(12_300), '12s');
    assert.equal(formatAge(185_000), '3m 05s');
    assert.equal(formatAge(2 * 3_600_000 + 3 * 60_000), '2h 03m');
    assert.equal(formatAge(3 * 86_400_000 + 4 * 3_600_000), '3d 04h');
  });

  it('reads a future event time as no age, and NaN as missing', () => {
    assert.equal(formatAge(-1500), '0.0s');
    assert.equal(formatAge(Number.NaN), MISSING);
  });
});

describe('formatWait and formatUtc', () => {
  it('says how long to wait in words a person reads', () => {
    assert.equal(formatWait(45), '45 s');
    assert.equal(formatWait(14 * 60 + 32), '14 min 32 s');
    assert.equal(formatWait(3600 + 5 * 60), '1 h 05 min');
    assert.equal(formatWait(0.2), '1 s', 'rounds up: waiting less than asked fails again');
  });

  it('shows API timestamps as UTC date and time, to the millisecond or second', () => {
    assert.equal(formatUtc('2024-05-01T14:30:00.123456Z'), '2024-05-01 14:30:00.123');
    assert.equal(formatUtc('2024-05-01T14:30:00Z'), '2024-05-01 14:30:00.000');
    assert.equal(formatUtc('2024-05-01T14:30:00.5Z'), '2024-05-01 14:30:00.500');
    assert.equal(formatUtc('2024-05-01T14:30:00.123456Z', false), '2024-05-01 14:30:00');
    assert.equal(formatUtc(null), MISSING);
    assert.equal(formatUtc('yesterday'), 'yesterday');
  });
});
