import { pino } from 'pino';
import type { Logger } from '../core/log.ts';

const REDACT = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization'];

/**
 * A logger writing JSON lines to `write` (the CLI's stderr), so that log lines of a command that runs the
 * pipeline in-process never mix with its result on stdout.
 */
export function writerLogger(level: string, write: (line: string) => unknown, name = 'tickline'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } }, { write: (s: string) => void write(s) });
}
