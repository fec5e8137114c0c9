import type { AuthService } from '../auth/index.ts';
import { describeConfig, loadConfig, type Config } from '../config/load.ts';
import { SPEC, type ConfigKey } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';

/** Secrets that are not URLs: their values must not reach the audit log in any form. */
const UNAUDITED: ReadonlySet<ConfigKey> = new Set(['adminPassword', 'apiKey', 'alphavantageKey', 'coingeckoKey']);

/** How far back the previous values are looked for (entries), so a huge log does not slow the start. */
const LOOKBACK = 10_000;
const PAGE = 1000;

/**
 * Configuration changes between starts go to the audit log: for every setting whose value differs from the
 * one the log last recorded (or, when it never recorded one, from the default), one `config.change` entry
 * by `system` with the old and new value. URLs are recorded with their passwords redacted; the admin
 * password and API key are never recorded. Several API replicas starting with the same change each record it.
 */
export async function auditConfigChanges(auth: AuthService, config: Config, logger: Logger): Promise<number> {
  const current = new Map(describeConfig(config).map((d) => [d.env, d]));
  const defaults = new Map(describeConfig(loadConfig({ env: {} })).map((d) => [d.env, d.value]));
  const tracked = new Set([...current.values()].filter((d) => !UNAUDITED.has(d.key)).map((d) => d.env));

  const last = new Map<string, string | null>();
  let before: number | undefined;
  for (let read = 0; read < LOOKBACK && last.size < tracked.size; ) {
    const page = await auth.auditList({ limit: PAGE, ...(before === undefined ? {} : { before }) });
    if (page.length === 0) break;
    for (const e of page) {
      if (e.action !== 'config.change' || e.target === null || last.has(e.target)) continue;
      const to = e.detail.to;
      last.set(e.target, to === null || to === undefined ? null : String(to));
    }
    read += page.length;
    before = page[page.length - 1]!.seq;
    if (before <= 1) break;
  }

  let changes = 0;
  for (const env of tracked) {
    const now = current.get(env)!.value;
    const was = last.has(env) ? last.get(env)! : (defaults.get(env) ?? null);
    if (now === was) continue;
    await auth.recordConfigChange('system', { key: env, from: was, to: now });
    changes++;
  }
  if (changes > 0) logger.info({ changes }, 'configuration changes since the last start recorded in the audit log');
  return changes;
}

// Every key of the table is either tracked or deliberately left out; a new secret key must be decided on.
for (const key of Object.keys(SPEC) as ConfigKey[]) {
  if (SPEC[key].secret && !UNAUDITED.has(key) && !['store', 'cache', 'authStore', 'pollJobsStore'].includes(key)) {
    throw new Error(`config key ${key} is secret: decide whether the audit log may record it (src/roles/audit-config.ts)`);
  }
}
