import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameScheduler } from './frame.ts';

function fakeFrames(): { request: (cb: () => void) => void; run: () => void; pending: () => number } {
  let queue: (() => void)[] = [];
  return {
    request: (cb) => void queue.push(cb),
    run: () => {
      const q = queue;
      queue = [];
      for (const cb of q) cb();
    },
    pending: () => queue.length,
  };
}

describe('FrameScheduler', () => {
  it('runs each scheduled render once per frame however often it was scheduled', () => {
    const frames = fakeFrames();
    const s = new FrameScheduler(frames.request);
    let a = 0;
    let b = 0;
    const ta = (): void => void a++;
    const tb = (): void => void b++;
    for (let i = 0; i < 100; i++) s.schedule(ta);
    s.schedule(tb);
    assert.equal(frames.pending(), 1, 'one frame requested');
    assert.deepEqual([a, b], [0, 0], 'nothing runs before the frame');
    frames.run();
    assert.deepEqual([a, b], [1, 1]);
    frames.run();
    assert.deepEqual([a, b], [1, 1], 'nothing runs again without a new schedule');
  });

  it('lets a render scheduled during a frame run in the next one, and cancels', () => {
    const frames = fakeFrames();
    const s = new FrameScheduler(frames.request);
    let n = 0;
    const again = (): void => {
      n++;
      if (n < 3) s.schedule(again);
    };
    s.schedule(again);
    frames.run();
    frames.run();
    frames.run();
    assert.equal(n, 3);
    const never = (): void => assert.fail('cancelled render ran');
    s.schedule(never);
    s.cancel(never);
    frames.run();
  });

  it('keeps running the other renders when one throws', (t) => {
    const frames = fakeFrames();
    const s = new FrameScheduler(frames.request);
    t.mock.method(console, 'error', () => {});
    let ran = false;
    s.schedule(() => {
      throw new Error('broken view');
    });
    s.schedule(() => void (ran = true));
    frames.run();
    assert.equal(ran, true);
  });
});
