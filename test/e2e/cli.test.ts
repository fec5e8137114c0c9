import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { filesUnder, getJson, readJsonl, tempDir, until } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/tickline.js', import.meta.url));
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TICKLINE_')));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...CLEAN_ENV, ...env }, timeout: 30_000 });
}

/** Starts `tickline start` as a real process and resolves with its API URL from the banner, and the banner. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; stdout: () => string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--log-level', 'warn', ...args], { env: CLEAN_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = await until(async () => /API\s+(http:\/\/\S+)/.exec(out)?.[1], 15_000, `the banner (stdout: ${out} stderr: ${err})`);
  return { child, url, exited, stdout: () => out };
}

/** Signs in as `username` and creates an API key with `scopes`, as an administrator would in the dashboard. */
async function createKey(url: string, username: string, password: string, scopes: string[]): Promise<string> {
  const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(login.status, 200, await login.clone().text());
  const { csrf } = (await login.json()) as { csrf: string };
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const made = await fetch(`${url}/v1/admin/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf },
    body: JSON.stringify({ name: 'cli-test', scopes }),
  });
  assert.equal(made.status, 201, await made.clone().text());
  return ((await made.json()) as { secret: string }).secret;
}

describe('the tickline command', () => {
  const tmp = tempDir('tickline-cli-');
  after(() => tmp.remove());

  test('--help answers for every command', () => {
    const top = cli(['--help']);
    assert.equal(top.status, 0);
    for (const cmd of ['start', 'config', 'migrate', 'roles', 'latest', 'bars']) {
      assert.match(top.stdout, new RegExp(`\\b${cmd}\\b`));
      const r = cli([cmd, '--help']);
      assert.equal(r.status, 0, cmd);
      assert.match(r.stdout, /Usage: tickline/);
    }
    assert.match(cli(['config', '--help']).stdout, /TICKLINE_SIM_RATE/);
  });

  test('config prints the effective configuration and refuses bad values naming them', () => {
    const r = cli(['config', '--json'], { TICKLINE_PORT: '9123', TICKLINE_STORE: 'postgres://u:pw@h/db' });
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(c.port, '9123');
    assert.equal(c.store, 'postgres://u:***@h/db');
    const bad = cli(['config'], { TICKLINE_PORT: 'abc' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /TICKLINE_PORT="abc" is invalid: expected an integer from 0 to 65535 \[TL_ERR_CONFIG\]/);
  });

  test('read commands say clearly when no API answers', () => {
    const r = cli(['latest', 'AAPL', '--api', 'http://127.0.0.1:9']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the Tickline API at http:\/\/127\.0\.0\.1:9/);
  });

  test('start prints the admin password once, serves live simulated prices within 5 s to a key holder; SIGTERM flushes everything; a restart keeps it', async () => {
    const dataDir = join(tmp.dir, 'data');
    const startedAt = Date.now();
    const s = await serve(['--data-dir', dataDir, '--sim-rate', '200']);
    const password = await until(async () => /shown only this once\):\s+(\S+)/.exec(s.stdout())?.[1], 5_000, 'the admin password in the banner');
    assert.equal((await getJson(`${s.url}/v1/prices/latest?symbol=AAPL`)).status, 401, 'no credentials, no data');
    const key = await createKey(s.url, 'admin', password, ['read']);
    const auth = { authorization: `Bearer ${key}` };
    const latest = await until(async () => {
      const r = await getJson<Record<string, unknown>>(`${s.url}/v1/prices/latest?symbol=AAPL`, auth);
      return r.status === 200 ? r.body : undefined;
    }, 5_000, 'a live AAPL price');
    assert.ok(Date.now() - startedAt < 10_000);
    assert.equal(latest.provider, 'sim');
    assert.ok((latest.price as number) > 50);

    const denied = cli(['latest', 'aapl', '--api', s.url]);
    assert.equal(denied.status, 1, 'the CLI without a key is refused');
    const l = cli(['latest', 'aapl', '--api', s.url], { TICKLINE_API_KEY: key });
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, /AAPL/);
    await new Promise((r) => setTimeout(r, 1_200));
    const b = cli(['bars', 'AAPL', '-i', '1s', '--api', s.url, '--json'], { TICKLINE_API_KEY: key });
    assert.equal(b.status, 0, b.stderr);
    assert.ok((JSON.parse(b.stdout) as { bars: unknown[] }).bars.length >= 1);
    assert.equal(cli(['bars', 'AAPL', '-i', '7m', '--api', s.url], { TICKLINE_API_KEY: key }).status, 1);

    s.child.kill('SIGTERM');
    assert.equal(await s.exited, 0, 'graceful exit');

    // Every tick that reached the raw zone reached the store too: nothing in flight was dropped.
    const raw = filesUnder(join(dataDir, 'zones')).filter((f) => f.startsWith('raw/'));
    const rawCount = raw.reduce((n, f) => n + readJsonl(join(dataDir, 'zones', f)).length, 0);
    assert.ok(rawCount > 100, `raw rows: ${rawCount}`);

    const again = await serve(['--data-dir', dataDir, '--sim-rate', '0']);
    try {
      assert.doesNotMatch(again.stdout(), /shown only this once/, 'the password is printed on the first start only');
      const syms = await getJson<{ symbols: Array<{ ticks: number }> }>(`${again.url}/v1/symbols`, auth);
      const stored = syms.body.symbols.reduce((n, x) => n + x.ticks, 0);
      assert.equal(stored, rawCount, 'store rows = raw zone rows after a graceful stop');
    } finally {
      again.child.kill('SIGINT');
      assert.equal(await again.exited, 0);
    }
  });
});
