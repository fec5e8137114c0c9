import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AuthService, openAuthStore } from '../auth/index.ts';
import type { AuditEntryView, KeyView, UserView, VerifyView } from './admin-client.ts';
import { runTickline } from './test-harness.ts';

const root = await mkdtemp(join(tmpdir(), 'tickline-cli-admin-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;

const ACTOR = `cli:${userInfo().username}`;
const SECRET_RE = /^tl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

/** A fresh auth store file and the environment that points the CLI at it. */
async function fixture(): Promise<{ dir: string; path: string; url: string; env: Record<string, string> }> {
  const dir = join(root, `s${++n}`);
  const path = join(dir, 'auth.json');
  const url = pathToFileURL(path).href;
  return { dir, path, url, env: { TICKLINE_AUTH_STORE: url } };
}

async function passwordFile(dir: string, name: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
}

/** Opens the store as the server would and runs `fn` against it (closing it after, so the lock is free). */
async function withService<T>(url: string, fn: (auth: AuthService) => Promise<T>): Promise<T> {
  const store = await openAuthStore(url);
  try {
    return await fn(new AuthService({ store }));
  } finally {
    await store.close();
  }
}

function json<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

describe('tickline users|keys|audit --local', () => {
  test('manages users end to end on a file store, recording the system user as the actor', async () => {
    const f = await fixture();
    const alicePw = await passwordFile(f.dir, 'alice.pw', 'alice password 1\n');

    const add = await runTickline(['users', 'add', 'Alice', '--role', 'admin', '--local', '--password-file', alicePw], { env: f.env });
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'added user alice (admin)\n');

    const bob = await runTickline(['users', 'add', 'bob', '--role', 'viewer', '--local', '--password-stdin', '--json'], { env: f.env, stdin: 'bob password 12\nignored\n' });
    assert.equal(bob.code, 0, bob.stderr);
    assert.equal(json<{ user: UserView }>(bob.stdout).user.role, 'viewer');

    const list = await runTickline(['users', 'list', '--local'], { env: f.env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^username\s+role\s+created\s+updated\n/);
    assert.match(list.stdout, /\nalice\s+admin\s+\d{4}-/);
    assert.match(list.stdout, /\nbob\s+viewer\s+\d{4}-/);
    const listed = json<{ users: UserView[] }>((await runTickline(['users', 'list', '--local', '--json'], { env: f.env })).stdout).users;
    assert.deepEqual(
      listed.map((u) => [u.username, u.role]),
      [
        ['alice', 'admin'],
        ['bob', 'viewer'],
      ],
    );
    assert.ok(listed.every((u) => !('password' in u) && !('passwordHash' in u)));

    // The passwords were taken exactly (the file's final newline and stdin's second line are not part of them).
    await withService(f.url, async (auth) => {
      assert.equal((await auth.login('alice', 'alice password 1', '127.0.0.1')).user.role, 'admin');
      assert.equal((await auth.login('bob', 'bob password 12', '127.0.0.1')).user.role, 'viewer');
    });

    const passwd = await runTickline(['users', 'passwd', 'BOB', '--local', '--password-stdin'], { env: f.env, stdin: 'bob changed it 13\n' });
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.match(passwd.stdout, /password of bob changed; their sessions were ended/);
    await withService(f.url, async (auth) => {
      await assert.rejects(auth.login('bob', 'bob password 12', '127.0.0.1'), { code: 'TL_ERR_UNAUTHENTICATED' });
      assert.equal((await auth.login('bob', 'bob changed it 13', '127.0.0.1')).user.username, 'bob');
    });

    const role = await runTickline(['users', 'role', 'bob', 'analyst', '--local', '--json'], { env: f.env });
    assert.equal(role.code, 0, role.stderr);
    assert.equal(json<{ user: UserView }>(role.stdout).user.role, 'analyst');
    const badRole = await runTickline(['users', 'role', 'bob', 'root', '--local'], { env: f.env });
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /role must be one of admin, analyst, viewer/);

    const remove = await runTickline(['users', 'remove', 'bob', '--local'], { env: f.env });
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal(remove.stdout, 'removed user bob\n');
    const last = await runTickline(['users', 'remove', 'alice', '--local'], { env: f.env });
    assert.equal(last.code, 1);
    assert.match(last.stderr, /^tickline: username: cannot remove "alice": it is the last admin .* \[TL_ERR_FORBIDDEN\]\n$/);
    const gone = await runTickline(['users', 'remove', 'bob', '--local'], { env: f.env });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no user "bob" \[TL_ERR_NOT_FOUND\]/);

    const audit = json<{ entries: AuditEntryView[]; verify: VerifyView }>((await runTickline(['audit', 'list', '--local', '--json'], { env: f.env })).stdout);
    const mine = audit.entries.filter((e) => e.actor === ACTOR).map((e) => `${e.action} ${e.target}`);
    assert.deepEqual(mine, ['user.remove bob', 'user.role bob', 'user.passwd bob', 'user.add bob', 'user.add alice']);
    assert.equal(audit.verify.ok, true);
  });

  test('creates, lists and revokes API keys; the secret goes to stdout alone, once', async () => {
    const f = await fixture();
    const created = await runTickline(['keys', 'create', '--name', 'feed loader', '--scope', 'ingest', '--scope', 'read', '--local'], { env: f.env });
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, SECRET_RE);
    assert.equal(created.stdout, `${secret}\n`);
    assert.match(created.stderr, /cannot be shown again/);
    assert.ok(!created.stderr.includes(secret.slice(20)), 'the secret is not on stderr');
    const id = secret.slice(3, 19);
    assert.match(created.stderr, new RegExp(`API key ${id} created \\(name "feed loader", scopes ingest,read\\)`));

    await withService(f.url, async (auth) => assert.deepEqual((await auth.authenticateKey(secret)).scopes, ['ingest', 'read']));

    const asJson = await runTickline(['keys', 'create', '--name', 'ops', '--scope', 'admin', '--local', '--json'], { env: f.env });
    assert.equal(asJson.code, 0, asJson.stderr);
    const made = json<{ key: KeyView; secret: string }>(asJson.stdout);
    assert.match(made.secret, SECRET_RE);
    assert.deepEqual(made.key.scopes, ['admin']);
    assert.equal(made.key.created_by, ACTOR);
    assert.equal(asJson.stderr, '');

    const list = await runTickline(['keys', 'list', '--local'], { env: f.env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^id\s+name\s+scopes\s+created_by\s+created\s+last_used\s+revoked\n/);
    assert.match(list.stdout, new RegExp(`\\n${id}\\s+feed loader\\s+ingest,read\\s+cli:\\S+\\s+\\d{4}-\\S+\\s+\\S+\\s+-\\n`));
    assert.ok(!list.stdout.includes(secret.slice(20)) && !list.stdout.includes(made.secret.slice(20)), 'no secret in the list');

    const revoke = await runTickline(['keys', 'revoke', id, '--local'], { env: f.env });
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.equal(revoke.stdout, `revoked key ${id}\n`);
    const again = await runTickline(['keys', 'revoke', id, '--local'], { env: f.env });
    assert.equal(again.stdout, `key ${id} was already revoked\n`);
    const unknown = await runTickline(['keys', 'revoke', '0000000000000000', '--local'], { env: f.env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no API key with id "0000000000000000" \[TL_ERR_NOT_FOUND\]/);

    const keys = json<{ keys: KeyView[] }>((await runTickline(['keys', 'list', '--local', '--json'], { env: f.env })).stdout).keys;
    const revoked = keys.find((k) => k.id === id)!;
    assert.ok(revoked.revoked_at !== null && revoked.revoked_by === ACTOR);
    await withService(f.url, async (auth) => assert.rejects(auth.authenticateKey(secret), { code: 'TL_ERR_UNAUTHENTICATED' }));

    const noScope = await runTickline(['keys', 'create', '--name', 'x', '--local'], { env: f.env });
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /--scope: give at least one of ingest, read, admin/);
    const badScope = await runTickline(['keys', 'create', '--name', 'x', '--scope', 'write', '--local'], { env: f.env });
    assert.equal(badScope.code, 1);
    assert.match(badScope.stderr, /scope must be one of ingest, read, admin/);
  });

  test('audit list pages newest first; audit verify finds an entry edited in the JSON file', async () => {
    const f = await fixture();
    const pw = await passwordFile(f.dir, 'pw', 'long enough password\n');
    for (const [user, role] of [
      ['ann', 'admin'],
      ['ben', 'viewer'],
      ['cat', 'analyst'],
    ]) {
      assert.equal((await runTickline(['users', 'add', user!, '--role', role!, '--local', '--password-file', pw], { env: f.env })).code, 0);
    }
    assert.equal((await runTickline(['keys', 'create', '--name', 'k', '--scope', 'read', '--local'], { env: f.env })).code, 0);

    const table = await runTickline(['audit', 'list', '--local'], { env: f.env });
    assert.equal(table.code, 0, table.stderr);
    const seqs = [...table.stdout.matchAll(/^\s*(\d+)\s+\d{4}-/gm)].map((m) => Number(m[1]));
    assert.deepEqual(seqs, [4, 3, 2, 1]);
    assert.match(table.stdout, /^seq\s+at\s+actor\s+action\s+target\s+detail\n/);
    assert.match(table.stdout, /\n\s*2\s+\S+\s+cli:\S+\s+user\.add\s+ben\s+role=viewer\n/);
    assert.equal(table.stderr, '');

    const page = json<{ entries: AuditEntryView[] }>((await runTickline(['audit', 'list', '--local', '--json', '--limit', '2', '--before', '4'], { env: f.env })).stdout);
    assert.deepEqual(
      page.entries.map((e) => e.seq),
      [3, 2],
    );
    assert.equal(page.entries[0]!.prev_hash, page.entries[1]!.hash);
    const badLimit = await runTickline(['audit', 'list', '--local', '--limit', '0'], { env: f.env });
    assert.equal(badLimit.code, 1);
    assert.match(badLimit.stderr, /must be an integer from 1 to 1000/);

    const intact = await runTickline(['audit', 'verify', '--local'], { env: f.env });
    assert.equal(intact.code, 0, intact.stderr);
    assert.equal(intact.stdout, 'intact: 4 entries\n');

    // Someone with access to the file promotes ben in the log.
    const doc = JSON.parse(await readFile(f.path, 'utf8')) as { audit: Array<{ seq: number; detail: Record<string, unknown> }> };
    doc.audit.find((e) => e.seq === 2)!.detail.role = 'admin';
    await writeFile(f.path, JSON.stringify(doc));

    const broken = await runTickline(['audit', 'verify', '--local'], { env: f.env });
    assert.equal(broken.code, 1);
    assert.equal(broken.stdout, 'broken at entry seq 2: the stored hash does not match the entry content (2 entries read)\n');
    const brokenJson = await runTickline(['audit', 'verify', '--local', '--json'], { env: f.env });
    assert.equal(brokenJson.code, 1);
    assert.deepEqual(json<VerifyView>(brokenJson.stdout).firstBad, { seq: 2, reason: 'the stored hash does not match the entry content' });
    const listed = await runTickline(['audit', 'list', '--local'], { env: f.env });
    assert.equal(listed.code, 0);
    assert.match(listed.stderr, /warning: the audit chain is broken at entry seq 2/);
  });

  test('new passwords: from a file, from stdin, never short, never from nowhere', async () => {
    const f = await fixture();
    const short = await passwordFile(f.dir, 'short', 'too short\n');
    const twoLines = await passwordFile(f.dir, 'two', 'first line here\nsecond line here\n');
    const empty = await passwordFile(f.dir, 'empty', '\n');
    const add = (extra: string[], stdin?: string) => runTickline(['users', 'add', 'dan', '--role', 'viewer', '--local', ...extra], { env: f.env, stdin });

    const s1 = await add(['--password-file', short]);
    assert.equal(s1.code, 1);
    assert.equal(s1.stderr, 'tickline: password: must be at least 12 characters long, got 9 [TL_ERR_VALIDATION]\n');
    const s2 = await add(['--password-stdin'], 'short\n');
    assert.equal(s2.code, 1);
    assert.match(s2.stderr, /password: must be at least 12 characters long, got 5/);
    assert.ok(!s2.stderr.includes('short\n') && !s1.stderr.includes('too short'), 'the password is not echoed');

    const multi = await add(['--password-file', twoLines]);
    assert.equal(multi.code, 1);
    assert.match(multi.stderr, /--password-file ".*two": the file must hold the password on one line/);
    const none = await add(['--password-file', empty]);
    assert.match(none.stderr, /the file is empty/);
    const missing = await add(['--password-file', join(f.dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--password-file ".*nope": cannot read the file \(ENOENT\)/);
    const noStdin = await add(['--password-stdin'], '');
    assert.match(noStdin.stderr, /--password-stdin: no password on stdin/);
    const both = await add(['--password-stdin', '--password-file', short], 'x');
    assert.match(both.stderr, /give either --password-file or --password-stdin, not both/);
    const nowhere = await add([]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /stdin is not a terminal: give --password-file <path> or --password-stdin/);

    // Refused input opened nothing: no user, and not even a store file.
    await assert.rejects(readFile(f.path), { code: 'ENOENT' });

    const crlf = await add(['--password-stdin'], 'windows password\r\n');
    assert.equal(crlf.code, 0, crlf.stderr);
    await withService(f.url, async (auth) => assert.equal((await auth.login('dan', 'windows password', '127.0.0.1')).user.username, 'dan'));
  });

  test('refuses flags of the other mode', async () => {
    const f = await fixture();
    const r = await runTickline(['users', 'list', '--local', '--api', 'http://127.0.0.1:9', '--user', 'x'], { env: f.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--local opens the auth store directly: --api, --user do not apply/);
    const s = await runTickline(['users', 'list', '--auth-store', f.url], { env: f.env });
    assert.equal(s.code, 1);
    assert.match(s.stderr, /--auth-store applies only with --local/);
    const p = await runTickline(['users', 'list', '--password-file', '/dev/null'], { env: f.env });
    assert.match(p.stderr, /a login password file applies only with --user/);
  });

  test('--data-dir and --auth-store choose the store', async () => {
    const f = await fixture();
    const pw = await passwordFile(f.dir, 'pw', 'long enough password');
    const byDir = await runTickline(['users', 'add', 'eve', '--role', 'viewer', '--local', '-d', f.dir, '--password-file', pw]);
    assert.equal(byDir.code, 0, byDir.stderr);
    assert.equal(byDir.stderr, `note: ${f.path} does not exist yet: an empty auth store (check --data-dir / TICKLINE_AUTH_STORE)\n`);
    const byUrl = await runTickline(['users', 'list', '--local', '--auth-store', f.url, '--json']);
    assert.equal(byUrl.stderr, '');
    assert.deepEqual(
      json<{ users: UserView[] }>(byUrl.stdout).users.map((u) => u.username),
      ['eve'],
    );
  });

  test('says what to do when a running server holds the file store', async () => {
    const f = await fixture();
    // A separate process opens the store as `tickline start` does, and keeps it until told to stop.
    const script = `import { openAuthStore } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', 'auth', 'index.ts')).href)};
      const store = await openAuthStore(${JSON.stringify(f.url)});
      process.stdout.write('held\\n');
      process.stdin.on('end', async () => { await store.close(); process.exit(0); });
      process.stdin.resume();`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the holder did not open the store')), 15_000);
        child.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('held')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const r = await runTickline(['users', 'list', '--local'], { env: f.env });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `tickline: the auth store is in use by a running Tickline server (process ${child.pid} holds ${f.path}.lock): use the API, or stop the server [TL_ERR_UNAVAILABLE]\n`,
      );
    } finally {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    // Once the server is gone, the same command works.
    const r = await runTickline(['users', 'list', '--local', '--json'], { env: f.env });
    assert.equal(r.code, 0, r.stderr);
  });
});
