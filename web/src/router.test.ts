import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRoute, routeHash, type Route } from './router.ts';

describe('parseRoute', () => {
  it('maps the hashes of every page', () => {
    assert.deepEqual(parseRoute(''), { page: 'overview' });
    assert.deepEqual(parseRoute('#'), { page: 'overview' });
    assert.deepEqual(parseRoute('#/'), { page: 'overview' });
    assert.deepEqual(parseRoute('#/symbol/AAPL'), { page: 'symbol', symbol: 'AAPL' });
    assert.deepEqual(parseRoute('#/quality'), { page: 'quality' });
    assert.deepEqual(parseRoute('#/sources/'), { page: 'sources' });
    assert.deepEqual(parseRoute('#/admin'), { page: 'admin' });
  });

  it('decodes and upper-cases symbols', () => {
    assert.deepEqual(parseRoute('#/symbol/btc-usd'), { page: 'symbol', symbol: 'BTC-USD' });
    assert.deepEqual(parseRoute('#/symbol/BRK%2FB'), { page: 'symbol', symbol: 'BRK/B' });
  });

  it('says not-found for anything else', () => {
    assert.deepEqual(parseRoute('#/nope'), { page: 'not-found', path: 'nope' });
    assert.deepEqual(parseRoute('#/symbol'), { page: 'not-found', path: 'symbol' });
    assert.deepEqual(parseRoute('#/symbol/A/B'), { page: 'not-found', path: 'symbol/A/B' });
    assert.deepEqual(parseRoute('#/symbol/%E0%A4%A'), { page: 'not-found', path: 'symbol/%E0%A4%A' });
    assert.deepEqual(parseRoute('#/quality/x'), { page: 'not-found', path: 'quality/x' });
  });
});

describe('routeHash', () => {
  it('is the inverse of parseRoute', () => {
    const routes: Route[] = [{ page: 'overview' }, { page: 'symbol', symbol: 'BRK/B' }, { page: 'quality' }, { page: 'sources' }, { page: 'admin' }];
    for (const r of routes) assert.deepEqual(parseRoute(routeHash(r)), r);
    assert.equal(routeHash({ page: 'symbol', symbol: 'BTC-USD' }), '#/symbol/BTC-USD');
  });
});
