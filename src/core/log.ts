import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values never reach a log line. */
const REDACT = ['password', '*.password', 'token', '*.token', 'apiKey', '*.apiKey', 'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'];

export function createLogger(level: string, name = 'tickline'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
