/**
 * Batches DOM writes into animation frames. Live events only change data and call `schedule(render)`;
 * each render function runs at most once per frame however many events arrived, so a burst of events
 * costs one render. In a hidden tab frames stop; renders wait (deduplicated) and run once the tab shows.
 */
export class FrameScheduler {
  #renders = new Set<() => void>();
  #pending = false;
  #request: (cb: () => void) => unknown;

  /** `request` defaults to `requestAnimationFrame`; tests pass their own. */
  constructor(request?: (cb: () => void) => unknown) {
    this.#request = request ?? ((cb) => requestAnimationFrame(cb));
  }

  /** Runs `render` in the next frame; scheduling the same function again before then does nothing. */
  schedule(render: () => void): void {
    this.#renders.add(render);
    if (this.#pending) return;
    this.#pending = true;
    this.#request(() => this.#flush());
  }

  /** Forgets a scheduled render (a page that is going away). */
  cancel(render: () => void): void {
    this.#renders.delete(render);
  }

  #flush(): void {
    this.#pending = false;
    const renders = [...this.#renders];
    this.#renders.clear();
    for (const r of renders) {
      try {
        r();
      } catch (err) {
        // One broken view must not stop the others from rendering.
        console.error('dashboard render failed', err);
      }
    }
  }
}
