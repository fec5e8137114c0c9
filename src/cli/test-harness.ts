/** Runs `tickline` commands in-process with captured output, for the CLI tests. Not for production use. */
import { PassThrough } from 'node:stream';
import type { CliInput, CliIo } from './io.ts';
import { runCli } from './main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The whole environment the command sees (nothing of the test's own is inherited). */
  env?: Record<string, string>;
  /** Text on stdin (then closed), or a stream of one's own (a fake terminal). */
  stdin?: string | CliInput;
}

export async function runTickline(args: string[], opts: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let stdin: CliInput;
  if (typeof opts.stdin === 'string') {
    const s = new PassThrough();
    s.end(opts.stdin);
    stdin = s;
  } else {
    stdin = opts.stdin ?? new PassThrough();
  }
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin,
    env: { ...opts.env },
    exitCode: 0,
  };
  const code = await runCli(['node', 'tickline', ...args], io);
  return { code, stdout, stderr };
}
