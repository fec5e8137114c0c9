/**
 * `tickline backfill`: daily history from a market-data provider into the store, symbol by symbol,
 * through the provider adapters' `history()` (their rate budget, retries and circuit breaker apply) and
 * `Store.putBars` (bars exactly as the provider states them, replacing what is stored for those days).
 *
 * Resumable and idempotent: a checkpoint per provider and date range records the symbols done, a
 * re-run skips them (`restart` loads them again), and loading a symbol twice leaves the same bars.
 * A symbol that fails (unknown, provider down) is reported and left for the next run; the others load.
 */
import { storeRegistry } from '../adapters/store/index.ts';
import type { Config } from '../config/load.ts';
import { isTicklineError, show, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Micros } from '../core/time.ts';
import { createProvider, type ProviderOptions, type Rejected } from '../sources/providers/index.ts';
import { backfillCheckpointPath, readCheckpoint, targetOf, writeCheckpoint, type BackfillCheckpoint } from './checkpoint.ts';
import { QuarantineWriter, type Unusable } from './quarantine.ts';
import { explainLock } from './replay.ts';

export const BACKFILL_PROVIDERS = ['yahoo', 'alphavantage', 'coingecko'] as const;
export type BackfillProvider = (typeof BACKFILL_PROVIDERS)[number];

export interface BackfillOptions {
  provider: BackfillProvider;
  symbols: readonly string[];
  /** First and last day to load, `YYYY-MM-DD`, both included. */
  from: string;
  to: string;
  baseUrl?: string;
  apiKey?: string;
  restart: boolean;
  config: Config;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; symbol: string; elapsedMs: number }) => void;
  /** Extra provider options (retry policy, limits, a test clock). */
  providerOptions?: ProviderOptions;
}

export interface BackfillSymbol {
  symbol: string;
  status: 'loaded' | 'already-loaded' | 'failed' | 'not-run';
  bars: number;
  rejected: number;
  error: string | null;
}

export interface BackfillSummary {
  provider: BackfillProvider;
  from: string;
  to: string;
  status: 'complete' | 'interrupted' | 'failed';
  symbols: BackfillSymbol[];
  bars_written: number;
  rejected: number;
  elapsed_s: number;
  checkpoint: string;
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` as µs of its UTC midnight, or a validation error naming the option. */
export function dayMicros(name: string, text: string): Micros {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw new TicklineError('TL_ERR_VALIDATION', `${name}: ${show(text)} is not a date YYYY-MM-DD`);
  }
  return ms * 1000;
}

function fromRejected(r: Rejected): Unusable {
  return {
    symbol: r.symbol,
    ts: r.receivedAt,
    seq: null,
    reason: `${r.provider}: ${r.reason}`,
    observed: r.payload.length > 1024 ? `${r.payload.slice(0, 1024)}…` : r.payload,
    notes: { source_provider: r.provider },
  };
}

export async function backfill(o: BackfillOptions): Promise<BackfillSummary> {
  const started = performance.now();
  const from = dayMicros('--from', o.from);
  const to = dayMicros('--to', o.to) + DAY_MS * 1000;
  if (to <= from) throw new TicklineError('TL_ERR_VALIDATION', `--to (${o.to}) is before --from (${o.from})`);
  const symbols = [...new Set(o.symbols.map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  if (symbols.length === 0) throw new TicklineError('TL_ERR_VALIDATION', '--symbols: give at least one symbol, e.g. --symbols AAPL,MSFT');
  const provider = createProvider(o.provider, {
    ...o.providerOptions,
    ...(o.baseUrl === undefined ? {} : { baseUrl: o.baseUrl }),
    ...(o.apiKey === undefined ? {} : { apiKey: o.apiKey }),
    log: o.logger,
  });
  const history = provider.history?.bind(provider);
  if (history === undefined) throw new TicklineError('TL_ERR_VALIDATION', `--provider ${o.provider} has no daily history`);
  const invalid: string[] = [];
  for (const s of symbols) {
    try {
      provider.checkSymbol(s);
    } catch (e) {
      invalid.push(isTicklineError(e) ? e.message : `${s}: ${String(e)}`);
    }
  }
  if (invalid.length > 0) throw new TicklineError('TL_ERR_VALIDATION', `--symbols: ${invalid.join('; ')}`);

  // The bus plays no part: the checkpoint belongs to the store alone.
  const ckPath = backfillCheckpointPath(o.config.dataDir, { provider: o.provider, from: o.from, to: o.to }, targetOf({ store: o.config.store, bus: '' }));
  const prior = o.restart ? null : readCheckpoint<BackfillCheckpoint>(ckPath);
  const cp: BackfillCheckpoint = prior ?? { version: 1, provider: o.provider, from: o.from, to: o.to, done: {}, updatedAt: new Date().toISOString() };

  const results: BackfillSymbol[] = symbols.map((symbol) => {
    const d = cp.done[symbol];
    return d ? { symbol, status: 'already-loaded', bars: d.bars, rejected: d.rejected, error: null } : { symbol, status: 'not-run', bars: 0, rejected: 0, error: null };
  });
  const todo = results.filter((r) => r.status === 'not-run');
  let bars = 0;
  let rejected = 0;
  if (todo.length > 0) {
    const store = await storeRegistry.create(o.config.store, { dataDir: o.config.dataDir, logger: o.logger });
    try {
      await store.init();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw explainLock(e, o.config);
    }
    const quarantine = QuarantineWriter.forConfig(o.config, { logger: o.logger }, { symbol: null, provider: o.provider, currency: 'USD' });
    try {
      let done = results.length - todo.length;
      for (const r of todo) {
        if (o.signal?.aborted) break;
        o.onProgress?.({ done, total: results.length, symbol: r.symbol, elapsedMs: performance.now() - started });
        try {
          const batch = await history(r.symbol, from, to, o.signal);
          await quarantine.write(batch.rejected.map(fromRejected));
          await store.putBars(batch.items);
          r.status = 'loaded';
          r.bars = batch.items.length;
          r.rejected = batch.rejected.length;
          bars += r.bars;
          rejected += r.rejected;
          cp.done[r.symbol] = { bars: r.bars, rejected: r.rejected, at: new Date().toISOString() };
          cp.updatedAt = new Date().toISOString();
          await writeCheckpoint(ckPath, cp);
        } catch (e) {
          if (o.signal?.aborted) break;
          // The store failing is not the symbol's fault: stop there.
          if (isTicklineError(e) && (e.code === 'TL_ERR_STORE' || e.code === 'TL_ERR_UNAVAILABLE' || e.code === 'TL_ERR_ZONE')) throw e;
          r.status = 'failed';
          r.error = e instanceof Error ? e.message : String(e);
          o.logger.warn({ provider: o.provider, symbol: r.symbol, err: r.error }, 'backfill: symbol failed');
        }
        done++;
        o.onProgress?.({ done, total: results.length, symbol: r.symbol, elapsedMs: performance.now() - started });
      }
    } finally {
      await quarantine.close();
      await store.close();
    }
  }
  const failed = results.some((r) => r.status === 'failed');
  const interrupted = results.some((r) => r.status === 'not-run');
  return {
    provider: o.provider,
    from: o.from,
    to: o.to,
    status: failed ? 'failed' : interrupted ? 'interrupted' : 'complete',
    symbols: results,
    bars_written: bars,
    rejected,
    elapsed_s: Math.round((performance.now() - started) / 10) / 100,
    checkpoint: ckPath,
  };
}
