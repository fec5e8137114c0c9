import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { CliIo } from './io.ts';
import { readHidden, readLoginPassword } from './prompt.ts';
import { runTickline } from './test-harness.ts';

/**
 * A terminal that types one scripted answer each time it is put in raw mode (as a person types after
 * seeing a prompt), and records the raw-mode switches.
 */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  readonly modes: boolean[] = [];
  readonly #answers: string[];

  constructor(answers: string[]) {
    super();
    this.#answers = [...answers];
  }

  setRawMode(mode: boolean): this {
    this.modes.push(mode);
    if (mode) {
      const next = this.#answers.shift();
      setImmediate(() => (next === undefined ? this.emit('end') : this.emit('data', Buffer.from(next, 'utf8'))));
    }
    return this;
  }

  pause(): this {
    return this;
  }

  resume(): this {
    return this;
  }
}

function sink(): { write(t: string): void; text: string } {
  return {
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

const root = await mkdtemp(join(tmpdir(), 'tickline-cli-prompt-'));
after(() => rm(root, { recursive: true, force: true }));

describe('password prompts', () => {
  test('a terminal prompt echoes nothing, honours backspace and restores the terminal', async () => {
    const tty = new FakeTerminal(['secrx\u007fet pässword\r']);
    const out = sink();
    assert.equal(await readHidden(tty, out, 'Password: '), 'secret pässword');
    assert.equal(out.text, 'Password: \n');
    assert.deepEqual(tty.modes, [true, false]);
  });

  test('Ctrl-C and end of input cancel; a non-terminal is refused', async () => {
    const tty = new FakeTerminal(['abc\u0003']);
    await assert.rejects(readHidden(tty, sink(), 'Password: '), { code: 'TL_ERR_VALIDATION', message: 'password entry cancelled' });
    assert.deepEqual(tty.modes, [true, false]);
    await assert.rejects(readHidden(new FakeTerminal([]), sink(), 'Password: '), /cancelled \(end of input\)/);
    const notTty = Object.assign(new FakeTerminal([]), { isTTY: false });
    await assert.rejects(readHidden(notTty, sink(), 'Password: '), /stdin is not a terminal/);
  });

  test('tickline users add asks twice on a terminal; different entries change nothing', async () => {
    const path = join(root, 'a', 'auth.json');
    const env = { TICKLINE_AUTH_STORE: pathToFileURL(path).href };
    const differ = await runTickline(['users', 'add', 'zed', '--role', 'viewer', '--local'], { env, stdin: new FakeTerminal(['zed password one\r', 'zed password two\r']) });
    assert.equal(differ.code, 1);
    assert.match(differ.stderr, /New password for zed: \nRepeat the new password: \ntickline: password: the two entries differ; nothing was changed/);
    await assert.rejects(stat(path), { code: 'ENOENT' });

    const short = await runTickline(['users', 'add', 'zed', '--role', 'viewer', '--local'], { env, stdin: new FakeTerminal(['short\r']) });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /New password for zed: \ntickline: password: must be at least 12 characters long, got 5/);

    const ok = await runTickline(['users', 'add', 'zed', '--role', 'viewer', '--local'], { env, stdin: new FakeTerminal(['zed password one\r', 'zed password one\r']) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(!ok.stderr.includes('zed password one') && !ok.stdout.includes('zed password one'), 'the password is never echoed');
    assert.equal(ok.stdout, 'added user zed (viewer)\n');
  });

  test('the --user password: a file first, then TICKLINE_PASSWORD, then the terminal', async () => {
    const file = join(root, 'login.pw');
    await writeFile(file, 'from the file\n');
    const io = (env: Record<string, string>, stdin = new FakeTerminal(['typed password\r'])): CliIo => ({ stdout: sink(), stderr: sink(), stdin, env, exitCode: 0 });
    assert.equal(await readLoginPassword(io({ TICKLINE_PASSWORD: 'from env' }), file, '--password-file', 'admin'), 'from the file');
    assert.equal(await readLoginPassword(io({ TICKLINE_PASSWORD: 'from env' }), undefined, '--password-file', 'admin'), 'from env');
    const typed = io({});
    assert.equal(await readLoginPassword(typed, undefined, '--password-file', 'admin'), 'typed password');
    assert.equal((typed.stderr as ReturnType<typeof sink>).text, 'Password for admin: \n');
  });
});
