import { INTERVALS, INTERVAL_MICROS, type Bar } from '../core/bar.ts';
import type { Tick } from '../core/tick.ts';

const NI = INTERVALS.length;
const WIDTHS = INTERVALS.map((i) => INTERVAL_MICROS[i]);

export interface BatchAggregate {
  /** Partial bars of this batch for every interval; the store merges them with what it holds. */
  bars: Bar[];
  /** The newest tick (by event time) of each symbol in the batch. */
  latest: Tick[];
}

/**
 * One pass over a batch: partial OHLCV bars for every interval, and each symbol's newest tick.
 * Ticks of one symbol mostly fall in the bucket of the previous one, so the current bar per
 * symbol and interval is checked first and the map is consulted only when the bucket changes.
 */
export function aggregateBatch(ticks: readonly Tick[]): BatchAggregate {
  const bars: Bar[] = [];
  const latest: Tick[] = [];
  const perSymbol = new Map<string, { latest: Tick; cur: Bar[]; byKey: Map<number, Bar>[] }>();
  for (let i = 0; i < ticks.length; i++) {
    const t = ticks[i]!;
    let s = perSymbol.get(t.symbol);
    if (s === undefined) {
      s = { latest: t, cur: new Array<Bar>(NI), byKey: [] };
      for (let k = 0; k < NI; k++) s.byKey.push(new Map());
      perSymbol.set(t.symbol, s);
    } else if (t.ts >= s.latest.ts) {
      s.latest = t;
    }
    for (let k = 0; k < NI; k++) {
      const w = WIDTHS[k]!;
      const start = Math.floor(t.ts / w) * w;
      let b = s.cur[k];
      if (b === undefined || b.start !== start) {
        b = s.byKey[k]!.get(start);
        if (b === undefined) {
          b = {
            symbol: t.symbol,
            interval: INTERVALS[k]!,
            start,
            open: t.price,
            high: t.price,
            low: t.price,
            close: t.price,
            volume: 0,
            trades: 0,
            firstTs: t.ts,
            lastTs: t.ts,
          };
          s.byKey[k]!.set(start, b);
          bars.push(b);
        }
        s.cur[k] = b;
      }
      if (t.price > b.high) b.high = t.price;
      if (t.price < b.low) b.low = t.price;
      if (t.ts < b.firstTs) {
        b.firstTs = t.ts;
        b.open = t.price;
      }
      if (t.ts >= b.lastTs) {
        b.lastTs = t.ts;
        b.close = t.price;
      }
      b.volume += t.size;
      b.trades += 1;
    }
  }
  for (const s of perSymbol.values()) latest.push(s.latest);
  return { bars, latest };
}
