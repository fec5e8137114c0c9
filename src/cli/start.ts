import { redactUrl } from '../adapters/registry.ts';
import type { Config } from '../config/load.ts';
import { createLogger } from '../core/log.ts';
import { startPlatform } from '../roles/platform.ts';

/** `tickline start`: runs the platform until SIGINT/SIGTERM, then flushes everything in flight. */
export async function runServer(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const platform = await startPlatform({ config, logger });
  const roles = [...platform.roles].join(',');
  const local = (platform.url ?? '').replace('127.0.0.1', 'localhost');
  if (!config.quiet) {
    const lines = [
      `Tickline is running (roles: ${roles})`,
      ...(platform.roles.has('api')
        ? [
            `  Dashboard  ${local}/${config.auth ? '' : '   (authentication is OFF: loopback only)'}`,
            `  API        ${local}`,
            `  Try        curl '${local}/v1/prices/latest?symbol=${config.symbols[0]}'`,
            `  API docs   ${local}/docs`,
          ]
        : [`  Probes     ${local}/health  ${local}/ready  ${local}/metrics`]),
      `  Store      ${redactUrl(config.store)}`,
      `  Zones      ${config.zones}`,
      `  Feed       ${config.simRate > 0 && platform.roles.has('ingest') ? `simulated, ${config.symbols.length} symbols at ${Number.isFinite(config.simRate) ? `${config.simRate}/s each` : 'full speed'}` : 'none'}`,
      '  Stop with Ctrl-C (everything in flight is flushed first).',
    ].filter(Boolean);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // Printed once, even with TICKLINE_QUIET: there is no other way to learn it. Written to stdout, never
  // to the log. TICKLINE_ADMIN_PASSWORD(_FILE) avoids it altogether.
  if (platform.firstAdminPassword !== null) {
    process.stdout.write(
      [
        '',
        '  First start: created the user "admin" with this password (shown only this once):',
        '',
        `      ${platform.firstAdminPassword}`,
        '',
        '  Sign in at the dashboard with it, then add users with "tickline users add" and API keys with',
        '  "tickline keys create". Lost it? "tickline users passwd admin --local" with the server stopped.',
        '',
      ].join('\n') + '\n',
    );
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`second ${sig}: exiting without flushing`);
        process.exit(130);
      }
      stopping = true;
      logger.info(`${sig} received: flushing and stopping`);
      platform.stop().then(resolve, (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
