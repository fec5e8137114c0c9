import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VERSION } from '../server.ts';
import { fakeApi } from '../test-fakes.ts';

describe('GET /health', () => {
  it('answers 200 with a <dep>_status per dependency, version and uptime', async (t) => {
    const { app } = await fakeApi({ health: { bus: { ok: false, detail: 'broker unreachable' } } });
    t.after(() => app.close());
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 'ok');
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
    assert.equal(body.version, VERSION);
    assert.equal(typeof body.uptime_s, 'number');
    assert.equal(body.store_status, 'OK');
    assert.equal(body.cache_status, 'OK');
    assert.equal(body.bus_status, 'FAIL');
    assert.deepEqual(body.dependencies.bus, { ok: false, detail: 'broker unreachable' });
    assert.deepEqual(body.dependencies.store, { ok: true, detail: 'fake' });
  });

  it('still answers 200 when the health check itself throws', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.health = async () => {
      throw new Error('boom');
    };
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().health_status, 'FAIL');
  });
});

describe('GET /ready', () => {
  it('is 200 when every dependency is ok', async (t) => {
    const { app } = await fakeApi();
    t.after(() => app.close());
    const res = await app.inject('/ready');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().ready, true);
  });

  it('is 503 naming the failing dependency when one is down', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.cache.healthState = { ok: false, detail: 'connection refused' };
    const res = await app.inject('/ready');
    assert.equal(res.statusCode, 503);
    assert.deepEqual(res.json(), {
      ready: false,
      dependencies: { store: { ok: true, detail: 'fake' }, cache: { ok: false, detail: 'connection refused' } },
    });
  });

  it('is 503 when the health check rejects', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.health = () => Promise.reject(new Error('boom'));
    const res = await app.inject('/ready');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().dependencies.health.ok, false);
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format with its content type', async (t) => {
    const { app, deps } = await fakeApi();
    t.after(() => app.close());
    deps.metrics.ticksIn.inc({ source: 'sim' }, 3);
    const res = await app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], deps.metrics.registry.contentType);
    assert.match(res.body, /^tickline_source_ticks_total\{source="sim"\} 3$/m);
  });
});
