import type { FastifyInstance } from 'fastify';
import { busRegistry } from '../adapters/bus/index.ts';
import { cacheRegistry } from '../adapters/cache/index.ts';
import type { AdapterContext } from '../adapters/registry.ts';
import { storeRegistry } from '../adapters/store/index.ts';
import { zonesRegistry } from '../adapters/zones/index.ts';
import type { ApiDeps, IngestResult } from '../api/deps.ts';
import { buildApi, buildOpsServer } from '../api/server.ts';
import type { Config } from '../config/load.ts';
import { TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { Tick } from '../core/tick.ts';
import type { Micros } from '../core/time.ts';
import type { Bus, Subscription } from '../ports/bus.ts';
import type { Cache } from '../ports/cache.ts';
import type { Health } from '../ports/health.ts';
import type { Source } from '../ports/source.ts';
import type { Store } from '../ports/store.ts';
import type { Zones } from '../ports/zones.ts';
import { Processor } from '../pipeline/processor.ts';
import { QualityService } from '../pipeline/quality-service.ts';
import { RunRecorder } from '../pipeline/runs.ts';
import { Gate, describeFailure } from '../quality/gate.ts';
import { loadSuite } from '../quality/suite.ts';
import { SimSource } from '../sources/sim.ts';
import { dependenciesOf, parseRoles, type RoleName } from './roles.ts';
import { AuthService, openAuthStore } from '../auth/index.ts';
import { openJobStore } from '../jobs/open-store.ts';
import { PollScheduler } from '../jobs/scheduler.ts';
import { PollJobs } from '../jobs/service.ts';
import type { JobStore } from '../jobs/store.ts';
import { ProviderHub, parseStreams } from '../sources/hub.ts';
import type { GapEvent, Rejected } from '../sources/providers/index.ts';
import { auditConfigChanges } from './audit-config.ts';

export interface PlatformOptions {
  config: Config;
  logger: Logger;
  metrics?: Metrics;
  /** Extra sources besides the simulated feed (tests feed known sequences this way). */
  sources?: Source[];
  /** Benchmarks observe cache visibility through this. */
  onVisible?: (ticks: readonly Tick[], atUs: Micros) => void;
}

export interface Platform {
  readonly roles: ReadonlySet<RoleName>;
  /** Base URL of this process's HTTP server: the whole API with the `api` role, else the probes only. */
  readonly url: string | null;
  readonly metrics: Metrics;
  /** This process's HTTP server (see `url`). */
  readonly api: FastifyInstance | null;
  /** Publishes ticks as the ingest API does (present when a bus is open). */
  readonly ingest: ((ticks: Tick[]) => Promise<IngestResult>) | null;
  /**
   * The password of the `admin` user when this start created it with a random password (first start,
   * authentication on, no TICKLINE_ADMIN_PASSWORD): to be shown once, never logged. Otherwise null.
   */
  readonly firstAdminPassword: string | null;
  /** Resolves when every source has finished (immediately when there are none). */
  readonly sourcesDone: Promise<void>;
  health(): Promise<Record<string, Health>>;
  /** Graceful stop: no new input, everything accepted flushed to the sinks, connections closed. */
  stop(): Promise<void>;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The one place that wires roles to adapters. Pipeline code only sees ports; this module picks the
 * adapters from the configured URLs, opens only what the chosen roles need, and tears them down in an
 * order that loses nothing: API closes, sources stop, the bus drains into the process stage, and only
 * then the sinks close.
 */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const { config, logger } = opts;
  const metrics = opts.metrics ?? new Metrics();
  const roles = parseRoles(config.roles);
  const needs = dependenciesOf(roles);
  const ctx: AdapterContext = { dataDir: config.dataDir, logger, metrics, busCapacity: config.busCapacity, batchMax: config.batchMax };

  if (!config.auth && roles.has('api') && !isLoopback(config.host)) {
    throw new TicklineError(
      'TL_ERR_CONFIG',
      `TICKLINE_AUTH=off is only allowed on a loopback address, but TICKLINE_HOST is ${JSON.stringify(config.host)}: anyone who can reach it could read and write everything. Listen on 127.0.0.1, or turn authentication on.`,
    );
  }

  const opened: Array<{ name: string; close: () => Promise<void> }> = [];
  let bus: Bus | undefined;
  let store: Store | undefined;
  let cache: Cache | undefined;
  let zones: Zones | undefined;
  let subscription: Subscription | undefined;
  let processor: Processor | undefined;
  let runs: RunRecorder | undefined;
  let api: FastifyInstance | null = null;
  let auth: AuthService | null = null;
  let firstAdminPassword: string | null = null;
  let jobStore: JobStore | undefined;
  let scheduler: PollScheduler | undefined;
  const abort = new AbortController();
  const running: Array<Promise<void>> = [];
  const sources: Source[] = [];

  const closeAll = async (): Promise<void> => {
    for (const o of opened.reverse()) {
      try {
        await o.close();
      } catch (err) {
        logger.error({ err }, `closing ${o.name} failed`);
      }
    }
  };

  try {
    if (needs.has('store')) {
      const s = await storeRegistry.create(config.store, ctx);
      store = s;
      opened.push({ name: 'store', close: () => s.close() });
      await s.init();
    }
    if (needs.has('zones')) {
      // Only the process role writes the zones' staged files; other roles must leave them alone.
      zones = await zonesRegistry.create(config.zones, { ...ctx, owner: roles.has('process') });
      opened.push({ name: 'zones', close: () => zones!.close() });
    }
    if (needs.has('cache')) {
      cache = await cacheRegistry.create(config.cache, ctx);
      opened.push({ name: 'cache', close: () => cache!.close() });
      // After a restart an in-memory cache is empty: warm it from the history.
      if (store && (await cache.all()).length === 0) await cache.put(await store.latest());
    }
    if (needs.has('bus')) {
      bus = await busRegistry.create(config.bus, ctx);
      opened.push({ name: 'bus', close: () => bus!.close() });
    }

    const suite = loadSuite(config.qualitySuite === '' ? undefined : config.qualitySuite);
    logger.info({ suite: suite.name, version: suite.version, file: suite.file, expectations: suite.expectations.length }, 'quality suite loaded');
    if (roles.has('process')) {
      runs = new RunRecorder({ zones: zones!, logger, suite, runSeconds: config.qualityRunSeconds });
      processor = new Processor({
        store: store!,
        cache: cache!,
        zones: zones!,
        metrics,
        logger,
        gate: new Gate(suite),
        runs: runs!,
        onVisible: opts.onVisible,
      });
      // Many batches in flight: the cache update of a new batch must not wait behind a store commit or a
      // checkpoint of an earlier one. Memory stays bounded by the bus capacity (in ticks), not by this.
      subscription = await bus!.subscribe(config.topic, processor.handle, { group: 'tickline-process', maxInFlight: 1024 });
    }

    // Malformed provider records: to the raw zone and quarantine when this process has the zones (an
    // ingest-only replica logs them instead), never dropped silently, never crashing a source.
    const onRejected = (r: Rejected): void => {
      metrics.quarantined.inc({ reason: 'well_formed_payload' });
      logger.warn({ provider: r.provider, symbol: r.symbol, reason: r.reason }, 'provider record rejected');
      if (!zones) return;
      const t: Tick = { symbol: r.symbol ?? 'UNKNOWN', ts: r.receivedAt, price: Number.NaN, size: 0, bid: null, ask: null, currency: '', provider: r.provider, seq: null, recvTs: r.receivedAt };
      const note = { reason: 'well_formed_payload', expectation: 'well_formed_payload', observed: null, threshold: null, detail: `${r.reason}; payload: ${r.payload}`, failed: 'well_formed_payload', suite: 'provider', suite_version: null, run_id: null };
      void Promise.all([zones.append('raw', 'ticks', [t], [{ payload: r.payload }]), zones.append('quarantine', 'ticks', [t], [note])]).catch((err: unknown) =>
        logger.error({ err, provider: r.provider }, 'writing a rejected provider record to the zones failed'),
      );
    };
    const hub = new ProviderHub({ config, logger, metrics, onRejected });
    if (roles.has('ingest') || roles.has('api')) {
      const js = await openJobStore(config.pollJobsStore, logger);
      jobStore = js;
      opened.push({ name: 'poll-job store', close: () => js.close() });
    }

    const previewGate = new Gate(suite);
    const ingest = bus
      ? async (ticks: Tick[]): Promise<IngestResult> => {
          // A preview for the caller: the same suite on a reset gate (stateful expectations see only this
          // request; reset and evaluate are synchronous, so requests cannot interleave). The process
          // stage's verdict, with the stream's state, is the one that routes.
          previewGate.reset();
          const checked = previewGate.evaluate(ticks);
          const issues: IngestResult['issues'] = [];
          if (checked.failed.length > 0) {
            const index = new Map<Tick, number>(ticks.map((t, i) => [t, i]));
            checked.failed.forEach((t, k) => {
              const f = checked.failures[k]![0]!;
              issues.push({ index: index.get(t)!, reason: `${f.expectation}: ${describeFailure(f)}` });
            });
          }
          await bus!.publish(config.topic, ticks);
          metrics.ticksIn.inc({ source: 'api' }, ticks.length);
          return { accepted: ticks.length, quarantined: checked.failed.length, issues };
        }
      : null;

    const health = async (): Promise<Record<string, Health>> => {
      const out: Record<string, Health> = {};
      const probes: Array<[string, { health(): Promise<Health> } | undefined]> = [
        ['bus', bus],
        ['store', store],
        ['cache', cache],
        ['zones', zones],
      ];
      await Promise.all(
        probes.map(async ([name, dep]) => {
          if (!dep) return;
          try {
            out[name] = await dep.health();
          } catch (err) {
            out[name] = { ok: false, detail: err instanceof Error ? err.message : String(err) };
          }
        }),
      );
      if (bus) metrics.busLag.set({ topic: config.topic }, bus.lag(config.topic));
      return out;
    };

    if (roles.has('ingest')) {
      if (config.simRate > 0) {
        sources.push(
          new SimSource({
            symbols: config.symbols,
            rate: config.simRate,
            seed: config.simSeed,
            badFraction: config.simBadFraction,
            batchMax: config.batchMax,
            intervalMs: Math.max(1, config.batchLingerMs),
            ...(config.simLimit > 0 ? { limit: config.simLimit } : {}),
          }),
        );
      }
      for (const { provider, symbols } of parseStreams(config.streams)) {
        const onGap = (g: GapEvent): void =>
          logger.warn({ provider: g.provider, symbol: g.symbol, kind: g.kind, from: g.from, to: g.to, backfilled: g.backfilled, error: g.error }, 'gap in a provider stream');
        sources.push(hub.get(provider, 'TICKLINE_STREAMS').source({ symbols, onRejected, onGap }));
      }
      sources.push(...(opts.sources ?? []));
      scheduler = new PollScheduler({
        store: jobStore!,
        hub,
        logger,
        publish: async (ticks, source) => {
          await bus!.publish(config.topic, ticks);
          metrics.ticksIn.inc({ source }, ticks.length);
        },
      });
      scheduler.start();
      for (const s of sources) {
        const emit = async (ticks: Tick[]): Promise<void> => {
          await bus!.publish(config.topic, ticks);
          metrics.ticksIn.inc({ source: s.name }, ticks.length);
        };
        running.push(
          s.run(emit, abort.signal).catch((err: unknown) => {
            if (!abort.signal.aborted) logger.error({ err, source: s.name }, 'source stopped with an error');
          }),
        );
      }
    }

    if (roles.has('api') && config.auth) {
      const authStore = await openAuthStore(config.authStore, { logger });
      opened.push({ name: 'auth store', close: () => authStore.close() });
      auth = new AuthService({ store: authStore, logger });
      const given = config.adminPassword === '' ? undefined : config.adminPassword;
      const created = await auth.bootstrap(given);
      if (created !== null) {
        logger.info({ user: 'admin', from: given === undefined ? 'random' : 'TICKLINE_ADMIN_PASSWORD' }, 'first start: created the admin user');
        if (given === undefined) firstAdminPassword = created;
      }
      await auditConfigChanges(auth, config, logger);
    }

    if (roles.has('api')) {
      if (!store || !cache) throw new TicklineError('TL_ERR_CONFIG', 'the api role needs a store and a cache');
      const quality = zones ? new QualityService({ zones, store, cache, suite, logger, liveRun: () => runs?.current() ?? null }) : null;
      const pollJobs = new PollJobs({ store: jobStore!, hub, onRemove: (id) => scheduler?.forget(id) });
      const deps: ApiDeps = {
        config,
        logger,
        metrics,
        store,
        cache,
        ingest,
        health,
        sources: () => [...sources.map((s) => s.stats()), ...(scheduler?.stats() ?? [])],
        quality,
        auth,
        pollJobs,
        providers: () => hub.health(),
      };
      const app = await buildApi(deps);
      api = app;
      await app.listen({ port: config.port, host: config.host });
    } else {
      // Every process answers probes and is scraped, whatever its roles.
      const app = await buildOpsServer({ config, logger, metrics, health, providers: () => hub.health() });
      api = app;
      await app.listen({ port: config.port, host: config.host });
    }

    let url: string | null = null;
    if (api) {
      const addr = api.server.address();
      if (addr && typeof addr === 'object') {
        const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        url = `http://${host}:${addr.port}`;
      }
    }

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        if (api) await api.close();
        await scheduler?.stop();
        abort.abort();
        await Promise.all(running);
        // A sink that keeps failing (its server gone for good) must not hold the stop forever: after the
        // grace period the process stage gives up retrying, and what it had not written stays
        // unacknowledged on a durable bus, to be delivered again after the restart.
        const giveUp = setTimeout(() => {
          logger.error({ graceMs: config.stopGraceMs }, 'stop: sinks still failing after the grace period; giving up on unwritten batches');
          processor?.stop();
          void subscription?.stop();
        }, config.stopGraceMs);
        giveUp.unref();
        // The bus delivers everything it accepted before it closes; then the consumer stops.
        if (bus) await bus.close();
        if (subscription) await subscription.stop();
        clearTimeout(giveUp);
        processor?.stop();
        await runs?.close();
        await closeAll();
        logger.info('tickline stopped');
      })();
      return stopped;
    };

    return {
      roles,
      url,
      metrics,
      api,
      ingest,
      firstAdminPassword,
      sourcesDone: Promise.all(running).then(() => undefined),
      health,
      stop,
    };
  } catch (err) {
    abort.abort();
    await scheduler?.stop();
    await Promise.all(running);
    if (api) await api.close().catch(() => undefined);
    await closeAll();
    throw err;
  }
}
