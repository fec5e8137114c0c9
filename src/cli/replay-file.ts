/**
 * `tickline replay FILE`: loads a CSV, JSON-lines or Parquet history file (docs/replay.md). It shares
 * the `replay` command with the raw-zone replay (`tickline replay --zone raw --from … --to …`, run by the
 * API): `addFileReplayCommands` gives that command an optional FILE argument and the file options, and
 * dispatches on whether a FILE was given. It also works on a program without the zone command (it then
 * adds both modes).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../config/load.ts';
import { SPEC, SYMBOL_RE, type ConfigKey } from '../config/schema.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { LAYOUTS, parseMap, type Layout } from '../replay/layout.ts';
import { writerLogger } from '../replay/logger.ts';
import { FORMATS, type BadRow, type FileFormat } from '../replay/reader.ts';
import { replayFile, type FileReplaySummary } from '../replay/replay.ts';
import { apiConnection, apiOption, type ApiOpts } from './api-options.ts';
import { apiPostStream } from './client.ts';
import { table } from './format.ts';
import { configEnv, note, say, type CliIo } from './io.ts';
import { progressBar } from './progress.ts';

// ---------------------------------------------------------------- shared by replay FILE and backfill

/** Flags of commands that open the store, zones and bus themselves. */
export interface TargetOpts {
  config?: string;
  dataDir?: string;
  bus?: string;
  store?: string;
  cache?: string;
  zones?: string;
  logLevel?: string;
  json?: boolean;
}

const TARGET_FLAGS: Array<[keyof TargetOpts, ConfigKey]> = [
  ['dataDir', 'dataDir'],
  ['bus', 'bus'],
  ['store', 'store'],
  ['cache', 'cache'],
  ['zones', 'zones'],
  ['logLevel', 'logLevel'],
];

export function targetOptions(cmd: Command, opts: { bus: boolean; cache: boolean } = { bus: true, cache: true }): Command {
  cmd
    .option('-c, --config <file>', 'JSON config file (default: $TICKLINE_CONFIG)')
    .option('-d, --data-dir <dir>', `data directory: embedded store, zones and checkpoints (${SPEC.dataDir.env}, default ./data)`)
    .option('--store <url>', `store URL (${SPEC.store.env})`);
  if (opts.bus) cmd.option('--bus <url>', `bus URL (${SPEC.bus.env}); memory:// runs the pipeline in this process`);
  if (opts.cache) cmd.option('--cache <url>', `cache URL (${SPEC.cache.env}); a shared one receives the latest prices`);
  return cmd
    .option('--zones <url>', `zones URL (${SPEC.zones.env}); malformed rows go to its quarantine zone`)
    .option('--log-level <level>', 'log level of the lines written to stderr (default warn)');
}

/** The configuration (defaults < file < environment < flags), the providers' key variables left out. */
export function targetConfig(opts: TargetOpts, io: CliIo): Config {
  const overrides: Partial<Record<ConfigKey, unknown>> = {};
  for (const [flag, key] of TARGET_FLAGS) if (opts[flag] !== undefined) overrides[key] = opts[flag];
  return loadConfig({ env: configEnv(io.env), file: opts.config, overrides });
}

/** Log lines go to stderr, at warn unless --log-level or TICKLINE_LOG_LEVEL says otherwise. */
export function commandLogger(io: CliIo, opts: TargetOpts, config: Config): Logger {
  const level = opts.logLevel ?? (io.env[SPEC.logLevel.env] !== undefined ? config.logLevel : 'warn');
  return writerLogger(level, (line) => io.stderr.write(line));
}

/**
 * Ctrl-C (or SIGTERM) ends the command gracefully through `onStop`; a second one exits at once. Only for
 * the real terminal: commands run in-process by tests leave the process's signals alone.
 */
export function onInterrupt(io: CliIo, onStop: () => void): () => void {
  if (io.stdout !== process.stdout) return () => {};
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    io.stderr.write(`\n${sig}: finishing the batch in flight and saving the checkpoint (again to quit at once)\n`);
    onStop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`;
  return String(Math.round(n));
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/**
 * The progress bar of a long load: done of the (estimated) total, the rate since this run started, and
 * the time left. On a terminal the bar shows its own ETA; in a log or pipe the rate and ETA go into each
 * plain line.
 */
export function rateProgressBar(out: CliIo['stderr'], label: string, unit: string): { update(p: { done: number; total: number; start: number; elapsedMs: number }): void; stop(): void } {
  const bar = progressBar(out);
  const tty = out.isTTY === true;
  return {
    update(p) {
      const secs = p.elapsedMs / 1000;
      const rate = secs > 0 ? (p.done - p.start) / secs : 0;
      const total = p.total > 0 ? Math.max(p.total, p.done) : 0;
      const eta = total > 0 && rate > 0 ? duration((total - p.done) / rate) : '?';
      bar.update({ phase: tty ? `${label} ${compact(rate)} ${unit}/s` : `${label} ${compact(rate)} ${unit}/s, ETA ${eta}`, unit, done: p.done, total, rows: p.done });
    },
    stop: () => bar.stop(),
  };
}

/** A result as `key  value` lines, or JSON. */
export function printRecord(io: CliIo, record: Record<string, unknown>, json: boolean | undefined): void {
  if (json) {
    say(io, JSON.stringify(record, null, 2));
    return;
  }
  const rows = Object.entries(record)
    .filter(([, v]) => v !== null && v !== undefined && !Array.isArray(v))
    .map(([key, value]) => ({ key, value: typeof value === 'number' ? value : String(value) }));
  const width = Math.max(...rows.map((r) => r.key.length));
  say(io, rows.map((r) => `${r.key.padEnd(width)}  ${typeof r.value === 'number' ? r.value.toLocaleString('en-US') : r.value}`).join('\n'));
}

// ---------------------------------------------------------------- replay

interface ReplayOpts extends TargetOpts, ApiOpts {
  zone?: string;
  from?: string;
  to?: string;
  map?: string;
  symbol?: string;
  provider?: string;
  currency?: string;
  tsFormat?: string;
  tz?: string;
  layout?: Layout;
  format?: FileFormat;
  delim?: string;
  speed?: number;
  restart?: boolean;
}

/** Malformed rows printed to stderr before the rest are only counted. */
const SHOW_BAD = 20;

const ZONE_ONLY = ['zone', 'from', 'to', 'api', 'apiKeyFile'] as const;
const FILE_ONLY = ['map', 'symbol', 'provider', 'currency', 'tsFormat', 'tz', 'layout', 'format', 'delim', 'speed', 'restart', 'dataDir', 'bus', 'store', 'cache', 'zones', 'logLevel'] as const;

function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}`);
    return v as T;
  };
}

function speedArg(v: string): number {
  if (v === 'max') return Infinity;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('speed must be "max" or a number above 0 (1 = the original pace, 10 = ten times faster)');
  return n;
}

const FILE_HELP = `
Replaying a file (tickline replay FILE):
  Loads a CSV, JSON-lines (.jsonl/.ndjson) or Parquet file of history. Tick files (columns like symbol,
  ts|timestamp|time, price, size|volume, bid, ask) go through the pipeline as live ticks do: quality
  checks, zones, store, bars. Daily files (Date,Open,High,Low,Close[,Adj Close],Volume, e.g. Yahoo's CSV)
  become daily bars exactly as written, and the last close becomes the latest price; the symbol comes from
  --symbol or the file name (AAPL.csv is AAPL).

  With the in-memory bus (the default) the pipeline runs in this process and needs the embedded store
  alone: stop the server first, or use a shared store and bus (Postgres, Kafka/NATS), in which case the
  ticks are published to the running servers. Malformed rows are reported with their row, column and
  value and go to the quarantine zone (expectation "malformed"); the rest of the file is loaded.

  A checkpoint under <data dir>/replay/ makes it resumable (Ctrl-C, then the same command continues) and
  idempotent (a finished file is not loaded again; --restart loads it from the start).

Examples:
  tickline replay trades.csv
  tickline replay AAPL.csv                          Yahoo daily CSV: daily bars of AAPL
  tickline replay ticks.parquet --speed 10          ten times the original pace
  tickline replay fx.csv --map ts=Date,price=Rate --symbol EURUSD=X --currency USD --tz Europe/London
  tickline replay trades.jsonl --ts-format ms       timestamps in epoch milliseconds
See docs/replay.md.`;

/**
 * Makes `replay` take an optional FILE: with one it loads the file (this module); without one it is the
 * raw-zone replay over the API. Call it after the command tree's own `replay` is defined, or on a
 * program without one.
 */
export function addFileReplayCommands(program: Command, io: CliIo): void {
  const cmd = program.commands.find((c) => c.name() === 'replay') ?? program.command('replay');
  // Already given its FILE argument (called twice): nothing to do.
  if (cmd.registeredArguments.some((a) => a.name() === 'file')) return;
  const has = (long: string) => cmd.options.some((o) => o.long === long);
  if (!has('--zone')) cmd.option('--zone <zone>', 'zone to replay from; only "raw" (what the sources delivered)');
  if (!has('--from')) cmd.option('--from <time>', 'ISO 8601 or epoch start of the event-time range (rounded down to the hour)');
  if (!has('--to')) cmd.option('--to <time>', 'ISO 8601 or epoch end (exclusive, rounded up to the hour)');
  if (!has('--api')) apiOption(cmd);
  // The zone options are required only without a FILE; checked in the action instead.
  for (const o of cmd.options) if (o.long === '--zone' || o.long === '--from' || o.long === '--to') o.mandatory = false;
  cmd
    .description(
      'replay history: a FILE (CSV, JSON lines, Parquet) through the pipeline or as daily bars, resumable and idempotent; or, without a FILE, raw-zone hours (--zone raw --from --to) through the current quality suite on the running API',
    )
    .argument('[file]', 'history file to load (.csv, .tsv, .jsonl, .ndjson, .parquet; .gz allowed); without it: the raw-zone replay');
  targetOptions(cmd)
    .option('--map <pairs>', 'which column is which field: field=Column,… (ticks: symbol, ts, price, size, bid, ask, currency, provider, seq; daily: symbol, date, open, high, low, close, volume)')
    .option('--layout <layout>', 'ticks or daily (default: from the columns)', choice('--layout', LAYOUTS))
    .option('--format <format>', 'csv, jsonl or parquet (default: from the file name)', choice('--format', FORMATS))
    .option('--delim <char>', 'CSV delimiter (default: "," for .csv, tab for .tsv, else detected)')
    .option('--symbol <symbol>', 'symbol of every row, for files without a symbol column (daily files default to the file name)')
    .option('--provider <name>', 'provider of the ticks (default replay)')
    .option('--currency <code>', 'currency of rows without one (default USD)')
    .option('--ts-format <fmt>', 'timestamp format: strptime (e.g. "%d/%m/%Y %H:%M:%S") or an epoch unit s|ms|us|ns (default: ISO 8601, or epoch by magnitude)')
    .option('--tz <zone>', 'IANA time zone of timestamps written without an offset (default UTC)')
    .option('--speed <n>', 'tick files: "max" (default, as fast as the pipeline takes) or the original pace × n', speedArg)
    .option('--restart', 'ignore the checkpoint: replay the file from its first row');
  if (!has('--json')) cmd.option('--json', 'print the result as JSON');
  cmd.addHelpText('after', FILE_HELP);
  cmd.action(async (file: string | undefined, opts: ReplayOpts) => {
    if (file === undefined) {
      const fileOnly = FILE_ONLY.filter((k) => opts[k] !== undefined);
      if (fileOnly.length > 0) throw new TicklineError('TL_ERR_VALIDATION', `${fileOnly.map(flag).join(', ')} apply to replaying a FILE; give one (tickline replay FILE …)`);
      await zoneReplay(io, opts);
      return;
    }
    const zoneOnly = ZONE_ONLY.filter((k) => opts[k] !== undefined);
    if (zoneOnly.length > 0) throw new TicklineError('TL_ERR_VALIDATION', `${zoneOnly.map(flag).join(', ')} apply to the raw-zone replay, not to a FILE`);
    await fileReplay(io, file, opts);
  });
}

/** The raw-zone replay, run by the API with progress here. */
async function zoneReplay(io: CliIo, opts: ReplayOpts): Promise<void> {
  if (opts.zone === undefined || opts.from === undefined || opts.to === undefined) {
    throw new TicklineError('TL_ERR_VALIDATION', 'replay needs a FILE, or --zone raw --from TIME --to TIME to replay raw-zone hours (see tickline replay --help)');
  }
  if (opts.zone !== 'raw') throw new TicklineError('TL_ERR_VALIDATION', `--zone must be raw (got ${JSON.stringify(opts.zone)}): curated and quarantine are rebuilt from it`);
  const bar = progressBar(io.stderr);
  try {
    const r = await apiPostStream<Record<string, unknown>>(apiConnection(opts, io), 'v1/replay', { zone: opts.zone, from: opts.from, to: opts.to }, (p) => bar.update(p));
    bar.stop();
    if (opts.json) say(io, JSON.stringify(r, null, 2));
    else say(io, table([r], Object.keys(r)));
  } finally {
    bar.stop();
  }
}

function checkText(name: string, value: string | undefined, re: RegExp, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!re.test(value)) throw new TicklineError('TL_ERR_VALIDATION', `${name}: ${show(value)} is not ${what}`);
  return value;
}

async function fileReplay(io: CliIo, file: string, opts: ReplayOpts): Promise<void> {
  const symbol = opts.symbol?.trim().toUpperCase();
  if (symbol !== undefined && !SYMBOL_RE.test(symbol)) throw new TicklineError('TL_ERR_VALIDATION', `--symbol: ${show(opts.symbol)} is not a symbol (letters, digits and . - = / _ ^, e.g. AAPL, BRK-B, EURUSD=X)`);
  const provider = checkText('--provider', opts.provider, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a provider name (letters, digits, . _ -)') ?? 'replay';
  const currency = (checkText('--currency', opts.currency, /^[A-Za-z0-9]{2,10}$/, 'a currency code such as USD') ?? 'USD').toUpperCase();
  let delim = opts.delim;
  if (delim === 'tab' || delim === '\\t') delim = '\t';
  if (delim !== undefined && delim.length !== 1) throw new TicklineError('TL_ERR_VALIDATION', `--delim: ${show(opts.delim)} must be one character (or "tab")`);
  const map = parseMap(opts.map);
  const config = targetConfig(opts, io);
  const logger = commandLogger(io, opts, config);
  const bar = rateProgressBar(io.stderr, 'replay', 'rows');
  const stop = new AbortController();
  const release = onInterrupt(io, () => stop.abort());
  let shown = 0;
  let hidden = 0;
  const onBad = (rows: readonly BadRow[]): void => {
    for (const b of rows) {
      if (shown < SHOW_BAD) {
        note(io, `malformed: ${b.message}`);
        shown++;
      } else hidden++;
    }
  };
  let s: FileReplaySummary;
  try {
    s = await replayFile({
      file,
      read: { format: opts.format, delim, map, layout: opts.layout, symbol, provider, currency, tsFormat: opts.tsFormat, tz: opts.tz ?? 'UTC' },
      speed: opts.speed ?? Infinity,
      restart: opts.restart === true,
      config,
      logger,
      signal: stop.signal,
      onProgress: (p) => bar.update({ done: p.rows, total: p.total, start: p.startRow, elapsedMs: p.elapsedMs }),
      onBad,
    });
  } finally {
    bar.stop();
    release();
  }
  if (hidden > 0) note(io, `malformed: … and ${hidden.toLocaleString('en-US')} more`);
  if (shown > 0) note(io, 'malformed rows are in the quarantine zone: tickline quarantine list --expectation malformed');
  if (s.status === 'already-replayed') {
    if (opts.json) say(io, JSON.stringify(s, null, 2));
    else say(io, `${s.file}: already replayed (${s.resumed_from.toLocaleString('en-US')} rows); --restart to replay again`);
    return;
  }
  printRecord(io, { ...s }, opts.json);
  if (!opts.json && s.latest !== null && s.latest.length > 0) say(io, `\nlatest prices:\n${table(s.latest, ['symbol', 'date', 'close'])}`);
  if (s.status === 'interrupted') {
    note(io, `interrupted after row ${(s.resumed_from + s.rows_read).toLocaleString('en-US')}: run the same command again to continue`);
    io.exitCode = 130;
  }
}
