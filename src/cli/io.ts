/**
 * What a command reads and writes, passed in rather than taken from `process`, so that the whole CLI can
 * run in-process (tests) with its own streams and environment. `processIo()` is the real terminal.
 */

/** The input a command may read passwords from. `setRawMode` exists when it is a terminal. */
export interface CliInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
  pause(): unknown;
  resume(): unknown;
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  /** `isTTY` chooses between a redrawn progress bar and plain lines. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  stdin: CliInput;
  env: Record<string, string | undefined>;
  /**
   * The exit status of a command that ends without throwing but must not report success (a broken
   * audit chain). Errors thrown by a command always exit 1.
   */
  exitCode: number;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, exitCode: 0 };
}

/** Writes one line (or several) to stdout. */
export function say(io: CliIo, text: string): void {
  io.stdout.write(`${text}\n`);
}

/** Writes one line (or several) to stderr: notes and warnings that must not mix with the result. */
export function note(io: CliIo, text: string): void {
  io.stderr.write(`${text}\n`);
}

/**
 * Variables read by the CLI alone, which the configuration loader does not know (it rejects unknown
 * `TICKLINE_*` variables): they are left out of what it sees.
 */
export const CLI_ONLY_ENV = ['TICKLINE_PASSWORD'] as const;

export function configEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of CLI_ONLY_ENV) delete out[name];
  return out;
}
