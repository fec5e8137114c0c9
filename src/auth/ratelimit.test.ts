import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, FailureLimiter } from './ratelimit.ts';

const MIN = 60_000;

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('failure limiter', () => {
  test('five failures within the window lock the key until the window (from the first failure) passes', () => {
    const c = clock();
    const l = new FailureLimiter({ now: c.now });
    for (let i = 1; i <= 4; i++) {
      assert.equal(l.fail('u'), false);
      assert.equal(l.retryAfterMs('u'), 0, `not locked after ${i} failures`);
      c.advance(MIN);
    }
    assert.equal(l.fail('u'), true, 'the fifth failure locks');
    // First failure at t0, now t0 + 4 min: locked for the remaining 11 minutes.
    assert.equal(l.retryAfterMs('u'), 11 * MIN);
    c.advance(11 * MIN - 1);
    assert.equal(l.retryAfterMs('u'), 1);
    c.advance(1);
    assert.equal(l.retryAfterMs('u'), 0, 'unlocked when the window has passed');
    assert.equal(l.fail('u'), false, 'and counting starts afresh');
  });

  test('failures spread over more than a window do not lock', () => {
    const c = clock();
    const l = new FailureLimiter({ now: c.now, maxFailures: 3, windowMs: 10 * MIN });
    l.fail('k');
    l.fail('k');
    c.advance(10 * MIN);
    assert.equal(l.fail('k'), false);
    assert.equal(l.retryAfterMs('k'), 0);
  });

  test('keys are independent, and reset forgets one', () => {
    const c = clock();
    const l = new FailureLimiter({ now: c.now, maxFailures: 2 });
    l.fail('a');
    l.fail('a');
    assert.ok(l.retryAfterMs('a') > 0);
    assert.equal(l.retryAfterMs('b'), 0);
    l.fail('b');
    l.reset('b');
    assert.equal(l.fail('b'), false, 'the count of b restarted');
    l.reset('a');
    assert.equal(l.retryAfterMs('a'), 0);
  });

  test('forgive takes back one failure, and unlocks a key it had locked', () => {
    const c = clock();
    const l = new FailureLimiter({ now: c.now, maxFailures: 2 });
    l.fail('k');
    assert.equal(l.fail('k'), true);
    l.forgive('k');
    assert.equal(l.retryAfterMs('k'), 0);
    assert.equal(l.fail('k'), true, 'one failure was left');
    l.forgive('unknown');
    assert.equal(l.size, 1);
  });

  test('memory is bounded: closed windows go first, then the oldest', () => {
    const c = clock();
    const l = new FailureLimiter({ now: c.now, maxKeys: 3, maxFailures: 1, windowMs: 10 * MIN });
    l.fail('old');
    c.advance(10 * MIN);
    l.fail('a');
    l.fail('b');
    l.fail('c'); // full: 'old' has expired and makes room
    assert.equal(l.size, 3);
    assert.ok(l.retryAfterMs('a') > 0 && l.retryAfterMs('b') > 0 && l.retryAfterMs('c') > 0);
    for (let i = 0; i < 1000; i++) l.fail(`flood-${i}`);
    assert.equal(l.size, 3);
    assert.equal(l.retryAfterMs('a'), 0, 'the oldest lock was dropped to stay within maxKeys');
  });

  test('refuses nonsensical options', () => {
    assert.throws(() => new FailureLimiter({ maxFailures: 0 }), /maxFailures/);
    assert.throws(() => new FailureLimiter({ windowMs: 1.5 }), /windowMs/);
  });
});

describe('address keys', () => {
  test('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64', () => {
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:DB8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0db8:0001:0002::'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  });
});
