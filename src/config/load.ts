import { readFileSync } from 'node:fs';
import { TicklineError, show } from '../core/errors.ts';
import { redactUrl } from '../adapters/registry.ts';
import { SPEC, type ConfigKey, type ConfigValues } from './schema.ts';

export type Config = Readonly<ConfigValues>;

export interface LoadOptions {
  /** Environment to read (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file; defaults to `TICKLINE_CONFIG` from the environment. */
  file?: string;
  /** Highest-precedence values, e.g. from command-line flags. */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

const KEYS = Object.keys(SPEC) as ConfigKey[];
const BY_ENV = new Map(KEYS.map((k) => [SPEC[k].env, k]));

/**
 * Loads configuration once: defaults < config file < environment < overrides. Every value is validated;
 * unknown keys (in the file, or `TICKLINE_*` variables in the environment) are rejected. All problems are
 * reported together, each naming the key, the bad value and what is allowed. The result is frozen.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const raw: Partial<Record<ConfigKey, { value: unknown; from: string }>> = {};

  const file = opts.file ?? env.TICKLINE_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new TicklineError('TL_ERR_CONFIG', `config file ${file}: ${(cause as Error).message}`, { cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TicklineError('TL_ERR_CONFIG', `config file ${file}: must hold a JSON object of keys (${KEYS.join(', ')})`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      const key = (KEYS as string[]).includes(k) ? (k as ConfigKey) : BY_ENV.get(k);
      if (!key) {
        problems.push(`${file}: unknown key "${k}"; allowed keys: ${KEYS.join(', ')}`);
        continue;
      }
      raw[key] = { value: v, from: `${file}: ${k}` };
    }
  }

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TICKLINE_') || value === undefined) continue;
    if (name === 'TICKLINE_CONFIG' || name.startsWith('TICKLINE_TEST_')) continue;
    // Secrets may come from a file (Docker/Kubernetes secrets, Vault agent): TICKLINE_STORE_FILE=/run/secrets/x.
    if (name.endsWith('_FILE') && BY_ENV.has(name.slice(0, -5))) {
      const key = BY_ENV.get(name.slice(0, -5))!;
      if (!SPEC[key].secret) {
        problems.push(`${name}: only secret keys can be read from a file (${KEYS.filter((k) => SPEC[k].secret).map((k) => SPEC[k].env).join(', ')})`);
        continue;
      }
      try {
        raw[key] = { value: readFileSync(value, 'utf8').trim(), from: name };
      } catch (cause) {
        problems.push(`${name}=${show(value)}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      continue;
    }
    const key = BY_ENV.get(name);
    if (!key) {
      problems.push(`unknown environment variable ${name}; known: ${[...BY_ENV.keys()].join(', ')}`);
      continue;
    }
    raw[key] = { value, from: name };
  }

  for (const [k, v] of Object.entries(opts.overrides ?? {})) {
    if (v === undefined) continue;
    if (!(KEYS as string[]).includes(k)) {
      problems.push(`unknown option "${k}"`);
      continue;
    }
    raw[k as ConfigKey] = { value: v, from: `--${k}` };
  }

  const out: Partial<ConfigValues> = {};
  for (const key of KEYS) {
    const spec = SPEC[key];
    const given = raw[key];
    if (given === undefined) {
      const d = spec.default;
      (out as Record<string, unknown>)[key] = typeof d === 'function' ? (d as (c: Partial<ConfigValues>) => unknown)(out) : d;
      continue;
    }
    const parsed = (spec.parse as (r: unknown) => unknown)(given.value);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'error' in parsed) {
      const shown = spec.secret ? '***' : show(given.value);
      problems.push(`${given.from}=${shown} is invalid: expected ${(parsed as { error: string }).error}`);
      continue;
    }
    (out as Record<string, unknown>)[key] = parsed;
  }

  if (problems.length > 0) {
    throw new TicklineError('TL_ERR_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: problems });
  }
  if (Array.isArray(out.symbols)) Object.freeze(out.symbols);
  return Object.freeze(out as ConfigValues);
}

/** The configuration as printable key/value pairs, secrets in URLs redacted. */
export function describeConfig(config: Config): Array<{ key: ConfigKey; env: string; value: string }> {
  return KEYS.map((key) => {
    const v = config[key];
    let value = Array.isArray(v) ? v.join(',') : String(v);
    // URLs keep everything but their password; other secrets (a password, a key) show only whether they are set.
    if (SPEC[key].secret) value = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? redactUrl(value) : value === '' ? '' : '***';
    return { key, env: SPEC[key].env, value };
  });
}
