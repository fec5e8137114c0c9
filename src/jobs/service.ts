import { randomBytes } from 'node:crypto';
import { SYMBOL_RE } from '../config/schema.ts';
import { TicklineError, show } from '../core/errors.ts';
import type { ProviderHub } from '../sources/hub.ts';
import type { PollJob } from './model.ts';
import type { JobStore } from './store.ts';

/** Names other systems use for our providers (seed 004 called Yahoo `yfinance`). */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = Object.freeze({ yfinance: 'yahoo', alpha_vantage: 'alphavantage', 'alpha-vantage': 'alphavantage' });

export const MAX_SYMBOLS = 100;
export const MAX_INTERVAL_S = 86_400;

export interface NewJob {
  symbols: unknown;
  interval: unknown;
  /** Default `yahoo`, as seed 004's only provider. */
  provider?: unknown;
}

/** Creating, listing and deleting polling jobs, with every input checked before anything is stored. */
export class PollJobs {
  readonly #store: JobStore;
  readonly #hub: ProviderHub;
  readonly #now: () => number;
  readonly #onRemove: (id: string) => void;

  constructor(opts: { store: JobStore; hub: ProviderHub; now?: () => number; onRemove?: (id: string) => void }) {
    this.#store = opts.store;
    this.#hub = opts.hub;
    this.#now = opts.now ?? Date.now;
    this.#onRemove = opts.onRemove ?? (() => undefined);
  }

  /**
   * Validates and stores a job, due at once. TL_ERR_VALIDATION names the field: an unknown or streaming
   * provider, an empty or malformed symbol list, a symbol the provider cannot serve, an interval below
   * what the provider's rate budget sustains for that many symbols.
   */
  async create(input: NewJob, actor: string): Promise<PollJob> {
    const given = input.provider ?? 'yahoo';
    const name = typeof given === 'string' ? (PROVIDER_ALIASES[given.toLowerCase()] ?? given.toLowerCase()) : given;
    const provider = this.#hub.quotes(name);
    if (!Array.isArray(input.symbols) || input.symbols.length === 0) {
      throw new TicklineError('TL_ERR_VALIDATION', `symbols: expected a non-empty list of symbols, got ${show(input.symbols)}`);
    }
    if (input.symbols.length > MAX_SYMBOLS) throw new TicklineError('TL_ERR_VALIDATION', `symbols: at most ${MAX_SYMBOLS} per job, got ${input.symbols.length}`);
    const symbols: string[] = [];
    input.symbols.forEach((raw: unknown, i: number) => {
      const s = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
      if (!SYMBOL_RE.test(s)) throw new TicklineError('TL_ERR_VALIDATION', `symbols[${i}]: not a symbol: ${show(raw)}`);
      try {
        provider.checkSymbol(s);
      } catch (err) {
        throw new TicklineError('TL_ERR_VALIDATION', `symbols[${i}]: ${(err as Error).message}`);
      }
      if (!symbols.includes(s)) symbols.push(s);
    });
    const interval = input.interval;
    const minS = Math.ceil(provider.minIntervalMs(symbols.length) / 1000);
    if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0 || interval > MAX_INTERVAL_S) {
      throw new TicklineError('TL_ERR_VALIDATION', `interval: expected a number of seconds from ${minS} to ${MAX_INTERVAL_S}, got ${show(interval)}`);
    }
    if (interval < minS) {
      throw new TicklineError(
        'TL_ERR_VALIDATION',
        `interval: ${interval} s is below ${provider.name}'s minimum of ${minS} s for ${symbols.length} symbol(s) (its rate limit; see docs/providers.md)`,
      );
    }
    const now = this.#now();
    const job: PollJob = {
      id: `pj_${randomBytes(8).toString('hex')}`,
      provider: provider.name,
      symbols,
      intervalMs: Math.round(interval * 1000),
      createdAt: now,
      createdBy: actor,
      nextRunAt: now,
      lastRunAt: null,
      lastSuccessAt: null,
      lastError: null,
      runs: 0,
      failures: 0,
      consecutiveFailures: 0,
      ticks: 0,
    };
    await this.#store.create(job);
    return job;
  }

  list(): Promise<PollJob[]> {
    return this.#store.list();
  }

  async get(id: string): Promise<PollJob> {
    const job = await this.#store.get(id);
    if (!job) throw new TicklineError('TL_ERR_NOT_FOUND', `poll job ${show(id)} does not exist`);
    return job;
  }

  async remove(id: string): Promise<void> {
    if (!(await this.#store.remove(id))) throw new TicklineError('TL_ERR_NOT_FOUND', `poll job ${show(id)} does not exist`);
    this.#onRemove(id);
  }
}
