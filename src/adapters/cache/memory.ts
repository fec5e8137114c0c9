import { TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { Cache } from '../../ports/cache.ts';
import type { Health } from '../../ports/health.ts';

/** Latest tick per symbol in a Map. Reads and writes are synchronous under the hood. */
export class MemoryCache implements Cache {
  readonly kind = 'memory';
  readonly #latest = new Map<string, Tick>();
  readonly #watchers = new Set<(ticks: Tick[]) => void>();
  #closed = false;

  async put(ticks: readonly Tick[]): Promise<void> {
    this.putSync(ticks);
  }

  /** The hot path calls this directly to avoid a promise per batch. */
  putSync(ticks: readonly Tick[]): void {
    if (this.#closed) throw new TicklineError('TL_ERR_CLOSED', 'memory cache is closed');
    const m = this.#latest;
    const changed: Tick[] | null = this.#watchers.size > 0 ? [] : null;
    for (let i = 0; i < ticks.length; i++) {
      const t = ticks[i]!;
      const cur = m.get(t.symbol);
      if (cur === undefined || t.ts >= cur.ts) {
        m.set(t.symbol, t);
        changed?.push(t);
      }
    }
    if (changed && changed.length > 0) for (const w of this.#watchers) w(changed);
  }

  async watch(onUpdate: (ticks: Tick[]) => void): Promise<() => Promise<void>> {
    this.#watchers.add(onUpdate);
    return async () => void this.#watchers.delete(onUpdate);
  }

  async get(symbol: string): Promise<Tick | undefined> {
    return this.#latest.get(symbol);
  }

  async all(): Promise<Tick[]> {
    return [...this.#latest.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  }

  async health(): Promise<Health> {
    return this.#closed ? { ok: false, detail: 'closed' } : { ok: true, detail: `${this.#latest.size} symbols` };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
