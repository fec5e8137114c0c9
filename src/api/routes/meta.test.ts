import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeApi } from '../test-fakes.ts';

describe('GET /v1/sources', () => {
  it('lists the running sources', async (t) => {
    const sources = [
      { name: 'sim', emitted: 1200, rate: 160, running: true },
      { name: 'yahoo', emitted: 3, rate: 0.2, running: false, lastError: 'HTTP 429' },
    ];
    const { app } = await fakeApi({ sources });
    t.after(() => app.close());
    const res = await app.inject('/v1/sources');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { sources });
  });
});
