export type TradeIdCheck =
  | { kind: 'first' }
  | { kind: 'next' }
  | { kind: 'duplicate' }
  /** Ids `from`..`to` (inclusive) were skipped. */
  | { kind: 'gap'; from: number; to: number };

/**
 * The last trade id delivered per symbol, for gap detection and de-duplication. Exchanges number the
 * trades of each product consecutively, so any jump is a hole and any id at or below the last one was
 * already delivered (a reconnect replays the latest trade, a backfill may overlap the live stream).
 */
export class TradeIds {
  readonly #last = new Map<string, number>();

  check(symbol: string, id: number): TradeIdCheck {
    const last = this.#last.get(symbol);
    if (last === undefined) return { kind: 'first' };
    if (id <= last) return { kind: 'duplicate' };
    if (id === last + 1) return { kind: 'next' };
    return { kind: 'gap', from: last + 1, to: id - 1 };
  }

  advance(symbol: string, id: number): void {
    const last = this.#last.get(symbol);
    if (last === undefined || id > last) this.#last.set(symbol, id);
  }
}
