import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../test/fixtures/providers/clock.ts';
import { CircuitBreaker, DEFAULT_CIRCUIT, type CircuitState } from './circuit.ts';

function breaker(over: Partial<typeof DEFAULT_CIRCUIT> = {}): { cb: CircuitBreaker; clock: FakeClock; states: CircuitState[] } {
  const clock = new FakeClock();
  const states: CircuitState[] = [];
  const cb = new CircuitBreaker('yahoo', { ...DEFAULT_CIRCUIT, coolDownMs: 10_000, ...over }, clock, (s) => states.push(s));
  return { cb, clock, states };
}

test('opens after consecutive failures and fails fast with the time to the next probe', () => {
  const { cb, clock, states } = breaker({ failureThreshold: 3 });
  for (let i = 0; i < 3; i++) {
    cb.acquire();
    cb.failure();
  }
  assert.equal(cb.state, 'open');
  clock.t += 4000;
  assert.throws(() => cb.acquire(), (e: { code: string; message: string; details: { retryInMs: number } }) => {
    assert.equal(e.code, 'TL_ERR_CIRCUIT_OPEN');
    assert.match(e.message, /yahoo: circuit open after 3 consecutive failures; next probe in 6 s/);
    assert.equal(e.details.retryInMs, 6000);
    return true;
  });
  assert.deepEqual(states, ['open']);
});

test('after the cool-down exactly one probe goes through; its success closes the circuit', () => {
  const { cb, clock, states } = breaker({ failureThreshold: 1 });
  cb.acquire();
  cb.failure();
  clock.t += 10_000;
  cb.acquire();
  assert.equal(cb.state, 'half-open');
  assert.throws(() => cb.acquire(), /a probe request is in flight/);
  cb.success();
  assert.equal(cb.state, 'closed');
  cb.acquire();
  assert.deepEqual(states, ['open', 'half-open', 'closed']);
});

test('a failed probe opens the circuit for another cool-down; a neutral one frees the probe slot', () => {
  const { cb, clock } = breaker({ failureThreshold: 1 });
  cb.acquire();
  cb.failure();
  clock.t += 10_000;
  cb.acquire();
  cb.neutral();
  cb.acquire();
  cb.failure();
  assert.equal(cb.state, 'open');
  clock.t += 9_999;
  assert.throws(() => cb.acquire(), /probe request failed; next probe in 1 s/);
});

test('a high failure share over the window opens it even without a long failure streak', () => {
  const { cb } = breaker({ failureThreshold: 100, failureRate: 0.5, windowSize: 10, minRequests: 6 });
  for (let i = 0; i < 4; i++) {
    cb.success();
    cb.failure();
    if (i < 2) assert.equal(cb.state, 'closed', 'not before minRequests outcomes');
  }
  assert.equal(cb.state, 'open', 'a success finishing while open (a straggler) does not close it');
  assert.throws(() => cb.acquire(), /3 of the last 6 requests failed/);
});
