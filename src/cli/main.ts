import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { describeConfig, loadConfig, type Config } from '../config/load.ts';
import { SPEC, type ConfigKey } from '../config/schema.ts';
import { TicklineError, isTicklineError } from '../core/errors.ts';
import { INTERVALS, isInterval } from '../core/bar.ts';
import { createLogger } from '../core/log.ts';
import { ROLES } from '../roles/roles.ts';
import { addGenerateCommand } from './generate.ts';
import { addFileReplayCommands } from './replay-file.ts';
import { addBackfillCommand } from './backfill.ts';
import { addAdminCommands } from './admin.ts';
import { apiConnection, apiOption, type ApiOpts } from './api-options.ts';
import { apiGet, apiPostStream } from './client.ts';
import { progressBar } from './progress.ts';
import { table } from './format.ts';
import { configEnv, processIo, say, type CliIo } from './io.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface CommonOpts {
  config?: string;
}

/** Flags that map onto configuration keys (highest precedence). */
const FLAG_KEYS: Array<[flag: string, key: ConfigKey]> = [
  ['port', 'port'],
  ['host', 'host'],
  ['dataDir', 'dataDir'],
  ['roles', 'roles'],
  ['simRate', 'simRate'],
  ['bus', 'bus'],
  ['store', 'store'],
  ['cache', 'cache'],
  ['zones', 'zones'],
  ['symbols', 'symbols'],
  ['logLevel', 'logLevel'],
];

function configFrom(opts: CommonOpts & Record<string, unknown>, io: CliIo): Config {
  const overrides: Partial<Record<ConfigKey, unknown>> = {};
  for (const [flag, key] of FLAG_KEYS) if (opts[flag] !== undefined) overrides[key] = opts[flag];
  return loadConfig({ env: configEnv(io.env), file: opts.config, overrides });
}

function withConfigFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'JSON config file (default: $TICKLINE_CONFIG)')
    .option('-p, --port <port>', `API port (${SPEC.port.env}, default 8000)`)
    .option('--host <host>', `listen address (${SPEC.host.env}, default 127.0.0.1)`)
    .option('-d, --data-dir <dir>', `data directory (${SPEC.dataDir.env}, default ./data)`)
    .option('--roles <roles>', 'roles to run: all, or a comma list of ingest,process,api')
    .option('--sim-rate <n>', 'simulated updates/s per symbol, "max", or 0 for none')
    .option('--symbols <list>', 'comma-separated symbols of the simulated feed')
    .option('--bus <url>', 'bus URL')
    .option('--store <url>', 'store URL')
    .option('--cache <url>', 'cache URL')
    .option('--zones <url>', 'zones URL')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent');
}

/**
 * The whole command tree. `io` carries the streams and environment, so that tests run commands in-process;
 * errors are thrown (commander's own ones as CommanderError), never turned into `process.exit`.
 */
export function buildProgram(io: CliIo = processIo()): Command {
  // Set before any subcommand is created: subcommands copy these settings when they are made.
  const program = new Command('tickline')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .description('Tickline: real-time market data — sources, bus, quality checks, zones, history, bars and a REST API')
    .version(VERSION)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Quick start:
  tickline start                 run everything in one process (API on http://localhost:8000)
  tickline keys create --user admin --name me --scope read > key
                                 an API key for the commands below: export TICKLINE_API_KEY_FILE=key
  tickline latest AAPL           ask the running API for a symbol's latest price
  tickline bars AAPL -i 1m       OHLCV bars
  tickline config                the effective configuration

Every setting is an environment variable (TICKLINE_*) or a key of a JSON file given with --config;
"tickline config --help" lists them all.`,
    );

  withConfigFlags(
    program
      .command('start')
      .description('run Tickline: by default every role in one process (simulated feed, DuckDB, in-memory cache, local zones, API)'),
  ).action(async (opts: CommonOpts & Record<string, unknown>) => {
    const config = configFrom(opts, io);
    const { runServer } = await import('./start.ts');
    await runServer(config);
  });

  withConfigFlags(program.command('config').description('print the effective configuration (defaults < config file < environment < flags), secrets redacted'))
    .option('--json', 'print as JSON')
    .addHelpText('after', `\nKeys:\n${(Object.keys(SPEC) as ConfigKey[]).map((k) => `  ${SPEC[k].env.padEnd(28)} ${SPEC[k].doc}`).join('\n')}`)
    .action((opts: CommonOpts & Record<string, unknown>) => {
      const config = configFrom(opts, io);
      const rows = describeConfig(config);
      if (opts.json) say(io, JSON.stringify(Object.fromEntries(rows.map((r) => [r.key, r.value])), null, 2));
      else say(io, table(rows, ['env', 'value']));
    });

  withConfigFlags(
    program.command('migrate').description('create or upgrade the store schema (also done at start); safe to run from several processes at once'),
  ).action(async (opts: CommonOpts & Record<string, unknown>) => {
    const config = configFrom(opts, io);
    const { storeRegistry } = await import('../adapters/store/index.ts');
    const { redactUrl } = await import('../adapters/registry.ts');
    const store = await storeRegistry.create(config.store, { dataDir: config.dataDir, logger: createLogger(config.logLevel) });
    try {
      await store.init();
      say(io, `schema up to date: ${redactUrl(config.store)}`);
    } finally {
      await store.close();
    }
  });

  program
    .command('roles')
    .description('list the roles one process can run and the dependencies each opens')
    .action(() => {
      say(io, table(Object.entries(ROLES).map(([role, r]) => ({ role, needs: r.needs.join(','), description: r.description })), ['role', 'needs', 'description']));
      say(io, '\nRun a subset with: tickline start --roles ingest,process (default: all)');
    });

  apiOption(program.command('latest').description('the latest price of a symbol, from a running Tickline API').argument('<symbol>', 'e.g. AAPL')).action(
    async (symbol: string, opts: ApiOpts) => {
      const p = await apiGet<Record<string, unknown>>(apiConnection(opts, io), 'v1/prices/latest', { symbol: symbol.toUpperCase() });
      if (opts.json) say(io, JSON.stringify(p, null, 2));
      else say(io, table([p], ['symbol', 'price', 'bid', 'ask', 'size', 'ts', 'age_ms', 'provider']));
    },
  );

  apiOption(
    program
      .command('bars')
      .description('OHLCV bars of a symbol, from a running Tickline API')
      .argument('<symbol>', 'e.g. AAPL')
      .option('-i, --interval <interval>', `one of ${INTERVALS.join(', ')}`, (v: string) => {
        if (!isInterval(v)) throw new InvalidArgumentError(`interval must be one of ${INTERVALS.join(', ')}`);
        return v;
      }, '1m')
      .option('--from <time>', 'ISO 8601 or epoch start (inclusive)')
      .option('--to <time>', 'ISO 8601 or epoch end (exclusive)')
      .option('-n, --limit <n>', 'at most this many (newest) bars', '20'),
  ).action(async (symbol: string, opts: ApiOpts & { interval: string; from?: string; to?: string; limit: string }) => {
    const r = await apiGet<{ bars: Array<Record<string, unknown>> }>(apiConnection(opts, io), 'v1/bars', {
      symbol: symbol.toUpperCase(),
      interval: opts.interval,
      from: opts.from,
      to: opts.to,
      limit: opts.limit,
    });
    if (opts.json) say(io, JSON.stringify(r, null, 2));
    else say(io, table(r.bars, ['start', 'open', 'high', 'low', 'close', 'volume', 'trades']));
  });

  addQualityCommands(program, io);
  addAdminCommands(program, io);
  addGenerateCommand(program, io);
  return program;
}

function printResult(io: CliIo, result: Record<string, unknown>, json: boolean | undefined): void {
  if (json) say(io, JSON.stringify(result, null, 2));
  else say(io, table([result], Object.keys(result)));
}

/** replay, backfill, quarantine list|release and quality runs, with progress here. */
function addQualityCommands(program: Command, io: CliIo): void {
  // `replay` (a file, or raw-zone hours through the API) is defined with the file replay.
  addFileReplayCommands(program, io);
  addBackfillCommand(program, io);

  const quarantine = program.command('quarantine').description('browse quarantined rows and release them after a suite change');
  apiOption(
    quarantine
      .command('list')
      .description('quarantined rows with the failed expectation, observed value and threshold')
      .option('--run <id>', 'rows quarantined by this validation run')
      .option('--symbol <symbol>', 'only this symbol')
      .option('--expectation <name>', 'only rows failing this expectation')
      .option('--from <time>', 'event-time start (default: the run\'s span, else 24 h back to 24 h ahead)')
      .option('--to <time>', 'event-time end (exclusive)')
      .option('-n, --limit <n>', 'at most this many rows', '50'),
  ).action(async (opts: ApiOpts & { run?: string; symbol?: string; expectation?: string; from?: string; to?: string; limit: string }) => {
    const r = await apiGet<{ rows: Array<Record<string, unknown>>; truncated: boolean }>(apiConnection(opts, io), 'v1/quarantine', {
      run: opts.run,
      symbol: opts.symbol?.toUpperCase(),
      expectation: opts.expectation,
      from: opts.from,
      to: opts.to,
      limit: opts.limit,
    });
    if (opts.json) say(io, JSON.stringify(r, null, 2));
    else {
      say(io, table(r.rows, ['symbol', 'ts', 'price', 'expectation', 'observed', 'threshold', 'run_id', 'released_by']));
      if (r.truncated) io.stderr.write(`(more rows than --limit ${opts.limit})\n`);
    }
  });
  apiOption(
    quarantine
      .command('release')
      .description('re-validate quarantined rows against the current suite and release those that pass now to the store, bars, cache and curated zone (each row once)')
      .option('--run <id>', 'rows quarantined by this validation run')
      .option('--symbol <symbol>', 'only this symbol')
      .option('--expectation <name>', 'only rows failing this expectation')
      .option('--from <time>', 'event-time start')
      .option('--to <time>', 'event-time end (exclusive)')
      .addHelpText('after', '\nExamples:\n  tickline quarantine release --run 20261121T163000Z-1a2b3c\n  tickline quarantine release --expectation currency_usd --from 2026-11-21T00:00Z --to 2026-11-22T00:00Z'),
  ).action(async (opts: ApiOpts & { run?: string; symbol?: string; expectation?: string; from?: string; to?: string }) => {
    if (!opts.run && !opts.symbol && !opts.expectation && !opts.from) {
      throw new TicklineError('TL_ERR_VALIDATION', 'say which rows: --run ID, or --symbol / --expectation / --from … --to …');
    }
    const body: Record<string, unknown> = {};
    for (const k of ['run', 'symbol', 'expectation', 'from', 'to'] as const) if (opts[k] !== undefined) body[k] = k === 'symbol' ? opts[k]!.toUpperCase() : opts[k];
    const bar = progressBar(io.stderr);
    try {
      const r = await apiPostStream<Record<string, unknown>>(apiConnection(opts, io), 'v1/quarantine/release', body, (p) => bar.update(p));
      bar.stop();
      printResult(io, r, opts.json);
    } finally {
      bar.stop();
    }
  });

  const quality = program.command('quality').description('validation runs of the quality gate');
  apiOption(
    quality.command('runs').description('recent validation runs, newest first').option('-n, --limit <n>', 'at most this many', '20'),
  ).action(async (opts: ApiOpts & { limit: string }) => {
    const r = await apiGet<{ runs: Array<Record<string, unknown>> }>(apiConnection(opts, io), 'v1/quality/runs', { limit: opts.limit });
    if (opts.json) say(io, JSON.stringify(r, null, 2));
    else {
      const rows = r.runs.map((x) => {
        const rows = x.rows as Record<string, number>;
        return { id: x.id, kind: x.kind, verdict: x.verdict, status: x.status, suite: `${String(x.suite)}@${String(x.suite_version)}`, rows: rows.evaluated, failed: rows.failed, started_at: x.started_at };
      });
      say(io, table(rows, ['id', 'kind', 'verdict', 'status', 'suite', 'rows', 'failed', 'started_at']));
    }
  });
}

/**
 * Runs one command line (`argv` as in `process.argv`: node, script, arguments…) and returns its exit
 * status. Errors are printed to `io.stderr` as `tickline: <message> [<code>]`.
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return io.exitCode;
  } catch (err) {
    // Commander has printed its own message (or the help) already.
    if (err instanceof CommanderError) return err.exitCode;
    if (isTicklineError(err)) io.stderr.write(`tickline: ${err.message} [${err.code}]\n`);
    else io.stderr.write(`tickline failed: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  // `tickline … | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  const code = await runCli(argv);
  // `start` may have set a failure status while stopping: keep it.
  if (code !== 0) process.exitCode = code;
}
