import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { SPEC } from '../config/schema.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { ApiConnection } from './client.ts';
import { configEnv, type CliIo } from './io.ts';

/** Options of every command that talks to the API. */
export interface ApiOpts {
  api?: string;
  apiKeyFile?: string;
  json?: boolean;
  /** A JSON config file (commands that offer `--config`); else TICKLINE_CONFIG. */
  config?: string;
}

export function apiOption(cmd: Command): Command {
  return cmd
    .option('--api <url>', `Tickline API to ask (${SPEC.apiUrl.env}, default http://localhost:8000)`)
    .option('--api-key-file <path>', `read the API key from this file (default: ${SPEC.apiKey.env}, or the file named by ${SPEC.apiKey.env}_FILE)`)
    .option('--json', 'print raw JSON');
}

/** Reads an API key from a file (surrounding whitespace ignored); the file's content never appears in a message. */
export function readApiKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TicklineError('TL_ERR_VALIDATION', `--api-key-file ${show(path)}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  const key = text.trim();
  const parsed = SPEC.apiKey.parse(key);
  if (typeof parsed !== 'string' || parsed === '') {
    throw new TicklineError('TL_ERR_VALIDATION', `--api-key-file ${show(path)}: the file does not hold an API key tl_<id>_<secret> as printed by tickline keys create`);
  }
  return parsed;
}

/**
 * Where the API is and which key to send: `--api` over TICKLINE_API_URL, `--api-key-file` over
 * TICKLINE_API_KEY / TICKLINE_API_KEY_FILE. No key is fine: a server without authentication answers.
 */
export function apiConnection(opts: ApiOpts, io: CliIo): ApiConnection {
  const config = loadConfig({ env: configEnv(io.env), file: opts.config });
  const base = opts.api ?? config.apiUrl;
  if (!/^https?:\/\/[^/]/i.test(base)) throw new TicklineError('TL_ERR_VALIDATION', `--api: must be an http(s) URL, got ${show(base)}`);
  const apiKey = opts.apiKeyFile !== undefined ? readApiKeyFile(opts.apiKeyFile) : config.apiKey;
  return { base, credentials: apiKey ? { apiKey } : {} };
}
