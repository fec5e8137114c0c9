import type { Config } from '../config/load.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import type { Cache } from '../ports/cache.ts';
import type { Health } from '../ports/health.ts';
import type { SourceStats } from '../ports/source.ts';
import type { Store } from '../ports/store.ts';
import type { QualityService } from '../pipeline/quality-service.ts';
import type { AuthService } from '../auth/index.ts';
import type { PollJobs } from '../jobs/service.ts';
import type { ProviderHealth } from '../sources/providers/index.ts';

export interface IngestResult {
  /** Ticks handed to the pipeline (all of them reach the raw zone). */
  accepted: number;
  /** Of those, how many fail the basic checks and go to the quarantine zone. */
  quarantined: number;
  /** Per quarantined tick: its index in the request and the failed check. */
  issues: Array<{ index: number; reason: string }>;
}

/** What the probes (`/health`, `/ready`, `/metrics`) need: every role's process serves them. */
export type OpsDeps = Pick<ApiDeps, 'config' | 'logger' | 'metrics' | 'health'> & Partial<Pick<ApiDeps, 'providers'>>;

/** What the API role needs from the rest of the process. Built by `roles/`; tests build their own. */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  store: Store;
  cache: Cache;
  /**
   * Hands well-formed ticks to the pipeline; resolves once the bus accepted them. `null` when this
   * process does not run the ingest role (the ingest routes then answer 503).
   */
  ingest: ((ticks: Tick[]) => Promise<IngestResult>) | null;
  /** Health of each dependency, keyed by name (`store`, `cache`, `bus`, `zones`, …). */
  health(): Promise<Record<string, Health>>;
  /** Running sources, for the sources endpoint and the dashboard. */
  sources(): SourceStats[];
  /** Validation runs, quarantine, release and replay; `null` when the process has no zones. */
  quality: QualityService | null;
  /** Users, sessions, keys and the audit log; `null` when authentication is off (every caller may do everything). */
  auth: AuthService | null;
  /** Polling jobs; `null` when this process keeps none. */
  pollJobs: PollJobs | null;
  /** Health of the market-data providers this process uses (for /ready; informational). */
  providers?: () => Record<string, ProviderHealth>;
}
