/**
 * Environment variables that `tickline replay FILE` and `tickline backfill` read themselves: the
 * providers' API keys. The configuration loader rejects `TICKLINE_*` variables it does not know, so
 * these are taken out of what it sees (`loaderEnv`) and read here (`providerKey`).
 */
import { readFileSync } from 'node:fs';
import { show, TicklineError } from '../core/errors.ts';

export const PROVIDER_KEY_ENV = {
  alphavantage: 'TICKLINE_ALPHAVANTAGE_KEY',
  coingecko: 'TICKLINE_COINGECKO_KEY',
} as const;

/** Variables read by these commands alone (and the CLI's own TICKLINE_PASSWORD). */
const OWN = ['TICKLINE_PASSWORD', ...Object.values(PROVIDER_KEY_ENV).flatMap((n) => [n, `${n}_FILE`])];

/** The environment for `loadConfig`: without the variables read here. */
export function loaderEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of OWN) delete out[name];
  return out;
}

/**
 * A provider's API key from `NAME`, or from the file named by `NAME_FILE` when `NAME` is unset
 * (surrounding whitespace dropped). Undefined when neither is set. Errors never contain the key.
 */
export function providerKey(env: Record<string, string | undefined>, provider: keyof typeof PROVIDER_KEY_ENV): string | undefined {
  const name = PROVIDER_KEY_ENV[provider];
  const direct = env[name];
  if (direct !== undefined && direct.trim() !== '') return direct.trim();
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TicklineError('TL_ERR_CONFIG', `${name}_FILE=${show(file)}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const key = text.trim();
  if (key === '') throw new TicklineError('TL_ERR_CONFIG', `${name}_FILE=${show(file)}: the file is empty`);
  return key;
}
