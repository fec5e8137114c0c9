import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLiveMessage, parseSource } from './live-protocol.ts';

const quote = { symbol: 'AAPL', price: 191.2, bid: 191.19, ask: 191.21, size: 100, ts: '2024-05-01T14:30:00.123456Z', provider: 'sim', received_at: '2024-05-01T14:30:00.124000Z' };

describe('parseLiveMessage', () => {
  it('parses a quotes event', () => {
    assert.deepEqual(parseLiveMessage('quotes', JSON.stringify({ quotes: [quote] })), { type: 'quotes', quotes: [quote] });
  });

  it('parses a ticks event with its symbol', () => {
    const msg = parseLiveMessage('ticks', JSON.stringify({ symbol: 'AAPL', ticks: [quote, { ...quote, price: 191.3 }] }));
    assert.equal(msg?.type, 'ticks');
    assert.equal(msg.type === 'ticks' && msg.symbol, 'AAPL');
    assert.deepEqual(msg.type === 'ticks' && msg.ticks.map((t) => t.price), [191.2, 191.3]);
  });

  it('parses a stats event, reading missing or non-numeric figures as null', () => {
    const stats = {
      ticks_per_s: 160_000,
      quality_pass_rate: 0.998,
      quarantined_total: 12,
      store_write_p50_ms: null,
      bus_lag_ticks: '7',
      sources: [{ name: 'sim', running: true, rate: 160, emitted: 5000, last_error: null }, { bogus: true }],
    };
    assert.deepEqual(parseLiveMessage('stats', JSON.stringify(stats)), {
      type: 'stats',
      stats: {
        ticks_per_s: 160_000,
        quality_pass_rate: 0.998,
        quarantined_total: 12,
        store_write_p50_ms: null,
        bus_lag_ticks: null,
        sources: [{ name: 'sim', running: true, rate: 160, emitted: 5000, last_error: null }],
      },
    });
  });

  it('recognises unnamed events by their shape', () => {
    assert.equal(parseLiveMessage('message', JSON.stringify({ quotes: [] }))?.type, 'quotes');
    assert.equal(parseLiveMessage('message', JSON.stringify({ symbol: 'X', ticks: [] }))?.type, 'ticks');
    assert.equal(parseLiveMessage('message', JSON.stringify({ ticks_per_s: 1 }))?.type, 'stats');
    assert.equal(parseLiveMessage('message', JSON.stringify({ hello: 1 })), null);
  });

  it('drops malformed quotes and keeps the rest', () => {
    const bad = [
      { ...quote, price: '191.2' },
      { ...quote, price: null },
      { ...quote, symbol: '' },
      { ...quote, ts: 1714573800 },
      'AAPL',
      null,
    ];
    const msg = parseLiveMessage('quotes', JSON.stringify({ quotes: [...bad, quote] }));
    assert.deepEqual(msg, { type: 'quotes', quotes: [quote] });
  });

  it('fills optional quote fields', () => {
    const msg = parseLiveMessage('quotes', JSON.stringify({ quotes: [{ symbol: 'BTC-USD', price: 67000, ts: '2024-05-01T14:30:00Z' }] }));
    assert.deepEqual(msg, {
      type: 'quotes',
      quotes: [{ symbol: 'BTC-USD', price: 67000, bid: null, ask: null, size: 0, ts: '2024-05-01T14:30:00Z', provider: '', received_at: '' }],
    });
  });

  it('gives null for bad JSON, non-objects, unknown events and wrong shapes', () => {
    assert.equal(parseLiveMessage('quotes', '{"quotes": ['), null);
    assert.equal(parseLiveMessage('quotes', '[1,2]'), null);
    assert.equal(parseLiveMessage('quotes', '{"quotes": {}}'), null);
    assert.equal(parseLiveMessage('ticks', '{"ticks": []}'), null, 'ticks without a symbol');
    assert.equal(parseLiveMessage('heartbeat', '{}'), null);
  });
});

describe('parseSource', () => {
  it('reads both the stream (last_error) and the REST (lastError) spelling', () => {
    assert.deepEqual(parseSource({ name: 'yahoo', running: false, rate: 0.2, emitted: 3, lastError: 'HTTP 429' }), {
      name: 'yahoo',
      running: false,
      rate: 0.2,
      emitted: 3,
      last_error: 'HTTP 429',
    });
    assert.equal(parseSource({ name: 'sim', running: true, rate: 1, emitted: 1, last_error: '' })?.last_error, null);
    assert.equal(parseSource({ running: true }), null);
  });
});
