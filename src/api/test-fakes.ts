import type { AuthService } from '../auth/index.ts';
import type { PollJobs } from '../jobs/service.ts';
import type { QualityService } from '../pipeline/quality-service.ts';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/load.ts';
import type { Bar } from '../core/bar.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import { toMicros } from '../core/time.ts';
import type { Cache } from '../ports/cache.ts';
import type { Health } from '../ports/health.ts';
import type { SourceStats } from '../ports/source.ts';
import type { BarQuery, HistoryPage, HistoryQuery, Store, SymbolInfo } from '../ports/store.ts';
import type { ApiDeps, IngestResult } from './deps.ts';
import { buildApi } from './server.ts';

/** In-memory fakes of the API's dependencies, for route tests. Not for production use. */

export function tick(over: Partial<Tick> & { symbol: string }): Tick {
  return {
    ts: toMicros('2024-01-02T15:04:05.123456Z')!,
    price: 100,
    size: 1,
    bid: null,
    ask: null,
    currency: 'USD',
    provider: 'sim',
    seq: null,
    recvTs: toMicros('2024-01-02T15:04:05.200000Z')!,
    ...over,
  };
}

export class FakeStore implements Store {
  readonly kind = 'fake';
  readonly idempotent = false;
  ticks: Tick[] = [];
  barList: Bar[] = [];
  healthState: Health = { ok: true, detail: 'fake' };
  lastHistoryQuery: HistoryQuery | undefined;
  lastBarQuery: BarQuery | undefined;

  async init(): Promise<void> {}

  async write(batch: { ticks: readonly Tick[]; bars: readonly Bar[] }): Promise<void> {
    this.ticks.push(...batch.ticks);
    this.barList.push(...batch.bars);
  }

  async putBars(bars: readonly Bar[]): Promise<void> {
    for (const b of bars) {
      this.barList = this.barList.filter((x) => !(x.symbol === b.symbol && x.interval === b.interval && x.start === b.start));
      this.barList.push(b);
    }
  }

  /** Cursor = offset into the filtered, ordered list; good enough to exercise paging. */
  async history(q: HistoryQuery): Promise<HistoryPage> {
    this.lastHistoryQuery = q;
    const rows = this.ticks
      .filter((t) => t.symbol === q.symbol && (q.from === undefined || t.ts >= q.from) && (q.to === undefined || t.ts <= q.to))
      .sort((a, b) => (q.order === 'desc' ? b.ts - a.ts : a.ts - b.ts));
    const offset = q.cursor === undefined ? 0 : Number(q.cursor);
    const page = rows.slice(offset, offset + q.limit);
    const next = offset + q.limit < rows.length ? String(offset + q.limit) : null;
    return { ticks: page, next };
  }

  async bars(q: BarQuery): Promise<Bar[]> {
    this.lastBarQuery = q;
    return this.barList
      .filter((b) => b.symbol === q.symbol && b.interval === q.interval && (q.from === undefined || b.start >= q.from) && (q.to === undefined || b.start <= q.to))
      .sort((a, b) => a.start - b.start)
      .slice(0, q.limit);
  }

  async symbols(): Promise<SymbolInfo[]> {
    const by = new Map<string, SymbolInfo>();
    for (const t of this.ticks) {
      const s = by.get(t.symbol);
      if (s === undefined) by.set(t.symbol, { symbol: t.symbol, ticks: 1, firstTs: t.ts, lastTs: t.ts });
      else {
        s.ticks++;
        s.firstTs = Math.min(s.firstTs, t.ts);
        s.lastTs = Math.max(s.lastTs, t.ts);
      }
    }
    return [...by.values()];
  }

  async latest(): Promise<Tick[]> {
    const by = new Map<string, Tick>();
    for (const t of this.ticks) {
      const cur = by.get(t.symbol);
      if (cur === undefined || t.ts > cur.ts) by.set(t.symbol, t);
    }
    return [...by.values()];
  }

  async health(): Promise<Health> {
    return this.healthState;
  }

  async close(): Promise<void> {}
}

export class FakeCache implements Cache {
  readonly kind = 'fake';
  readonly map = new Map<string, Tick>();

  async watch(): Promise<() => Promise<void>> {
    return async () => {};
  }
  healthState: Health = { ok: true };

  async put(ticks: readonly Tick[]): Promise<void> {
    for (const t of ticks) {
      const cur = this.map.get(t.symbol);
      if (cur === undefined || t.ts >= cur.ts) this.map.set(t.symbol, t);
    }
  }

  async get(symbol: string): Promise<Tick | undefined> {
    return this.map.get(symbol);
  }

  async all(): Promise<Tick[]> {
    return [...this.map.values()];
  }

  async health(): Promise<Health> {
    return this.healthState;
  }

  async close(): Promise<void> {}
}

export interface FakeDeps extends ApiDeps {
  store: FakeStore;
  cache: FakeCache;
  /** Every batch handed to `ingest`, in order. */
  ingested: Tick[][];
}

export interface FakeOptions {
  config?: Partial<Record<keyof Config, unknown>>;
  /** `null` builds a process without the ingest role. */
  ingest?: ((ticks: Tick[]) => Promise<IngestResult>) | null;
  /** Extra health entries, e.g. `{ bus: { ok: false, detail: 'down' } }`. */
  health?: Record<string, Health>;
  sources?: SourceStats[];
  quality?: QualityService | null;
  /** Authentication; absent or null: off (every caller may do everything). */
  auth?: AuthService | null;
  pollJobs?: PollJobs | null;
}

export function fakeDeps(opts: FakeOptions = {}): FakeDeps {
  const store = new FakeStore();
  const cache = new FakeCache();
  const ingested: Tick[][] = [];
  const defaultIngest = async (ticks: Tick[]): Promise<IngestResult> => {
    ingested.push(ticks);
    // Stands in for the quality checks: a non-positive price is quarantined.
    const issues = ticks.flatMap((t, index) => (t.price > 0 ? [] : [{ index, reason: 'price_not_positive' }]));
    return { accepted: ticks.length, quarantined: issues.length, issues };
  };
  const ingest = opts.ingest === undefined ? defaultIngest : opts.ingest;
  return {
    config: loadConfig({ env: {}, overrides: opts.config ?? {} }),
    logger: silentLogger(),
    metrics: new Metrics({ defaultMetrics: false }),
    store,
    cache,
    ingested,
    ingest:
      ingest === null
        ? null
        : async (ticks) => {
            if (ingest !== defaultIngest) ingested.push(ticks);
            return ingest(ticks);
          },
    async health() {
      return { store: await store.health(), cache: await cache.health(), ...(opts.health ?? {}) };
    },
    sources: () => opts.sources ?? [],
    quality: opts.quality ?? null,
    auth: opts.auth ?? null,
    pollJobs: opts.pollJobs ?? null,
  };
}

/** Builds the API on fakes; close it in an `after` hook. */
export async function fakeApi(opts: FakeOptions = {}): Promise<{ app: FastifyInstance; deps: FakeDeps }> {
  const deps = fakeDeps(opts);
  const app = await buildApi(deps);
  await app.ready();
  return { app, deps };
}
