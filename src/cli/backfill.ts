/** `tickline backfill`: daily history from Yahoo Finance, Alpha Vantage or CoinGecko into the store (docs/replay.md). */
import { InvalidArgumentError, type Command } from 'commander';
import { TicklineError } from '../core/errors.ts';
import { BACKFILL_PROVIDERS, backfill, type BackfillProvider } from '../replay/backfill.ts';
import { providerOptions } from '../sources/hub.ts';
import { table } from './format.ts';
import { note, say, type CliIo } from './io.ts';
import { commandLogger, onInterrupt, printRecord, rateProgressBar, targetConfig, targetOptions, type TargetOpts } from './replay-file.ts';

interface BackfillOpts extends TargetOpts {
  provider: BackfillProvider;
  symbols: string;
  from: string;
  to: string;
  baseUrl?: string;
  restart?: boolean;
}

export function addBackfillCommand(program: Command, io: CliIo): void {
  if (program.commands.some((c) => c.name() === 'backfill')) return;
  targetOptions(
    program
      .command('backfill')
      .description('load daily bars from a market-data provider into the store (replacing those days), resumable and idempotent')
      .requiredOption('--provider <name>', `one of ${BACKFILL_PROVIDERS.join(', ')}`, (v: string) => {
        if (!(BACKFILL_PROVIDERS as readonly string[]).includes(v)) throw new InvalidArgumentError(`provider must be one of ${BACKFILL_PROVIDERS.join(', ')}`);
        return v;
      })
      .requiredOption('--symbols <list>', 'comma-separated symbols in the provider\'s spelling, e.g. AAPL,MSFT or BTC-USD')
      .requiredOption('--from <date>', 'first day, YYYY-MM-DD (UTC)')
      .requiredOption('--to <date>', 'last day, YYYY-MM-DD (UTC), included')
      .option('--base-url <url>', 'the provider\'s REST base URL (a proxy or a mirror; default: its public endpoint)'),
    { bus: false, cache: false },
  )
    .option('--restart', 'ignore the checkpoint: load every symbol again')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Keys and endpoints come from the same settings as the server's: TICKLINE_ALPHAVANTAGE_KEY (required for
alphavantage) and TICKLINE_COINGECKO_KEY (optional) — or their *_FILE variants naming a file that holds
the key — and TICKLINE_<PROVIDER>_URL; never from a flag. --base-url overrides the URL for this run.

Symbols already loaded for the same provider and dates are skipped (see the checkpoint under
<data dir>/backfill/); a symbol that failed is reported and loaded by the next run. The provider's rate
budget applies: Alpha Vantage's free plan allows 25 requests a day.

Examples:
  tickline backfill --provider yahoo --symbols AAPL,MSFT --from 2024-01-01 --to 2024-06-30
  tickline backfill --provider coingecko --symbols BTC-USD,ETH-EUR --from 2024-05-01 --to 2024-05-31
See docs/replay.md.`,
    )
    .action(async (opts: BackfillOpts) => {
      if (opts.baseUrl !== undefined && !/^https?:\/\/[^/]/i.test(opts.baseUrl)) throw new TicklineError('TL_ERR_VALIDATION', '--base-url must be an http(s) URL');
      const config = targetConfig(opts, io);
      const logger = commandLogger(io, opts, config);
      const bar = rateProgressBar(io.stderr, 'backfill', 'symbols');
      const stop = new AbortController();
      const release = onInterrupt(io, () => stop.abort());
      let s;
      try {
        s = await backfill({
          provider: opts.provider,
          symbols: opts.symbols.split(','),
          from: opts.from,
          to: opts.to,
          baseUrl: opts.baseUrl,
          providerOptions: providerOptions(config, opts.provider),
          restart: opts.restart === true,
          config,
          logger,
          signal: stop.signal,
          onProgress: (p) => bar.update({ done: p.done, total: p.total, start: 0, elapsedMs: p.elapsedMs }),
        });
      } finally {
        bar.stop();
        release();
      }
      if (opts.json) say(io, JSON.stringify(s, null, 2));
      else {
        say(io, table(s.symbols.map((x) => ({ ...x, error: x.error ?? '' })), ['symbol', 'status', 'bars', 'rejected', 'error']));
        say(io, '');
        printRecord(io, { provider: s.provider, from: s.from, to: s.to, status: s.status, bars_written: s.bars_written, rejected: s.rejected, elapsed_s: s.elapsed_s, checkpoint: s.checkpoint }, false);
      }
      if (s.status === 'failed') {
        note(io, 'some symbols failed (see above); run the same command again to retry them');
        io.exitCode = 1;
      } else if (s.status === 'interrupted') {
        note(io, 'interrupted: run the same command again to load the remaining symbols');
        io.exitCode = 130;
      }
    });
}
