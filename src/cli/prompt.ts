/**
 * Passwords for the CLI: typed without echo on a terminal, or read from a file or one line of stdin.
 * Never from a command-line argument, which other users of the machine can read in the process list
 * and which stays in shell history.
 */
import { readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { checkPasswordPolicy } from '../auth/index.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { CliInput, CliIo } from './io.ts';

/** Environment variable holding the password of `--user` (read by the CLI only). */
export const PASSWORD_ENV = 'TICKLINE_PASSWORD';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

function invalid(message: string): TicklineError {
  return new TicklineError('TL_ERR_VALIDATION', message);
}

/**
 * Asks for a secret on a terminal: the prompt goes to stderr, the terminal is put in raw mode so that
 * nothing typed is echoed, and Enter ends the input. Backspace edits, Ctrl-C and Ctrl-D cancel.
 */
export function readHidden(input: CliInput, output: { write(text: string): unknown }, prompt: string): Promise<string> {
  if (!input.isTTY || typeof input.setRawMode !== 'function') return Promise.reject(invalid('cannot prompt for a password: stdin is not a terminal'));
  const setRaw = input.setRawMode.bind(input);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let chars: string[] = [];
    const finish = (err: Error | null) => {
      input.off('data', onData);
      input.off('end', onEnd);
      setRaw(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(chars.join(''));
    };
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const c of text) {
        if (c === '\r' || c === '\n') return finish(null);
        if (c === CTRL_C || (c === CTRL_D && chars.length === 0)) return finish(invalid('password entry cancelled'));
        if (BACKSPACE.has(c)) chars = chars.slice(0, -1);
        else if (c >= ' ') chars.push(c);
      }
    };
    const onEnd = () => finish(invalid('password entry cancelled (end of input)'));
    input.on('data', onData);
    input.on('end', onEnd);
    setRaw(true);
    input.resume();
  });
}

/** Reads the first line of `input` (without its line ending) and stops reading. */
export function readLine(input: CliInput): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let buf = '';
    const finish = (err: Error | null, line = '') => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (err) reject(err);
      else resolve(line.replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(null, buf.slice(0, nl));
    };
    const onEnd = () => finish(null, buf + decoder.end());
    const onError = (e: Error) => finish(e);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}

/** A password kept in a file: one line; a final line ending is not part of it. */
export function readPasswordFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TicklineError('TL_ERR_VALIDATION', `${flag} ${show(path)}: cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  }
  const password = text.replace(/\r?\n$/, '');
  if (/[\r\n]/.test(password)) throw invalid(`${flag} ${show(path)}: the file must hold the password on one line`);
  if (password === '') throw invalid(`${flag} ${show(path)}: the file is empty`);
  return password;
}

export interface NewPasswordOptions {
  passwordFile?: string;
  passwordStdin?: boolean;
}

/**
 * The new password of `username`: from `--password-file`, from one line of stdin with
 * `--password-stdin`, or typed twice on a terminal. It must pass the password policy (checked here, so a
 * weak password is refused before anything is sent or opened).
 */
export async function readNewPassword(io: CliIo, opts: NewPasswordOptions, username: string): Promise<string> {
  if (opts.passwordFile !== undefined && opts.passwordStdin) throw invalid('give either --password-file or --password-stdin, not both');
  let password: string;
  if (opts.passwordFile !== undefined) {
    password = readPasswordFile(opts.passwordFile, '--password-file');
  } else if (opts.passwordStdin) {
    password = await readLine(io.stdin);
    if (password === '') throw invalid('--password-stdin: no password on stdin (expected one line)');
  } else if (io.stdin.isTTY) {
    password = await readHidden(io.stdin, io.stderr, `New password for ${username}: `);
    checkPasswordPolicy(password);
    const again = await readHidden(io.stdin, io.stderr, 'Repeat the new password: ');
    if (again !== password) throw invalid('password: the two entries differ; nothing was changed');
  } else {
    throw invalid('password: stdin is not a terminal: give --password-file <path> or --password-stdin (a password is never taken from the command line)');
  }
  checkPasswordPolicy(password);
  return password;
}

/**
 * The password `--user` logs in with: from a file, from TICKLINE_PASSWORD, or typed on a terminal.
 */
export async function readLoginPassword(io: CliIo, file: string | undefined, fileFlag: string, username: string): Promise<string> {
  if (file !== undefined) return readPasswordFile(file, fileFlag);
  const fromEnv = io.env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.stdin.isTTY) return readHidden(io.stdin, io.stderr, `Password for ${username}: `);
  throw invalid(`--user ${show(username)}: no password: set ${PASSWORD_ENV}, give ${fileFlag} <path>, or run on a terminal to be asked`);
}
