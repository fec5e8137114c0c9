/** Counts per wall-clock second in a small ring, for `SourceStats.rate` (updates per second, last 5 s). Every source uses it. */
export class RateMeter {
  readonly #clock: { now(): number };
  readonly #count = new Float64Array(8);
  readonly #second = new Float64Array(8).fill(-1);

  constructor(clock: { now(): number } = Date) {
    this.#clock = clock;
  }

  add(n: number): void {
    const sec = Math.floor(this.#clock.now() / 1000);
    const slot = sec & 7;
    if (this.#second[slot] !== sec) {
      this.#second[slot] = sec;
      this.#count[slot] = 0;
    }
    this.#count[slot]! += n;
  }

  /** Mean per second over the last five complete seconds. */
  rate(): number {
    const now = Math.floor(this.#clock.now() / 1000);
    let n = 0;
    for (let s = now - 5; s < now; s++) if (this.#second[s & 7] === s) n += this.#count[s & 7]!;
    return n / 5;
  }
}
