import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { isTicklineError } from '../core/errors.ts';
import { openAuthStore } from './open-store.ts';
import type { AuthStore } from './store.ts';
import { authStoreConformance, type StoreFixture } from './store.suite.ts';

const root = await mkdtemp(join(tmpdir(), 'tickline-auth-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;

/** Reads, changes and rewrites the document as someone with access to the file would. */
async function editDocument(path: string, change: (doc: { audit: Record<string, unknown>[] }) => void): Promise<void> {
  const doc = JSON.parse(await readFile(path, 'utf8')) as { audit: Record<string, unknown>[] };
  change(doc);
  await writeFile(path, JSON.stringify(doc));
}

async function fileFixture(): Promise<StoreFixture> {
  const dir = join(root, `s${++n}`);
  const path = join(dir, 'auth.json');
  const url = pathToFileURL(path).href;
  let store: AuthStore = await openAuthStore(url);
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = await openAuthStore(url);
      return store;
    },
    openSecond: async () => null,
    editAuditEntry: (seq, fields) =>
      editDocument(path, (doc) => {
        const e = doc.audit.find((x) => x.seq === seq)!;
        if (fields.detail) e.detail = { ...(e.detail as object), ...fields.detail };
        if (fields.hash) e.hash = fields.hash;
      }),
    deleteAuditEntry: (seq) =>
      editDocument(path, (doc) => {
        doc.audit = doc.audit.filter((x) => x.seq !== seq);
      }),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

authStoreConformance('file://', fileFixture);

describe('auth file store', () => {
  test('writes one JSON document with mode 0600, atomically, leaving no temporary file', async () => {
    const fx = await fileFixture();
    const path = fx.store.kind === 'file' ? (fx.store as unknown as { path: string }).path : '';
    await fx.store.transaction((tx) => tx.putUser({ username: 'alice', role: 'admin', passwordHash: 'h', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' }));
    const doc = JSON.parse(await readFile(path, 'utf8')) as { format: string; version: number; users: unknown[]; auditHead: unknown };
    assert.deepEqual([doc.format, doc.version, doc.users.length], ['tickline-auth', 1, 1]);
    assert.deepEqual(doc.auditHead, { seq: 0, hash: '0'.repeat(64) });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual((await readdir(join(path, '..'))).sort(), ['auth.json', 'auth.json.lock']);
    await fx.cleanup();
  });

  test('a transaction that throws does not touch the file', async () => {
    const fx = await fileFixture();
    const path = (fx.store as unknown as { path: string }).path;
    await fx.store.transaction((tx) => tx.appendAudit({ at: '2026-01-01T00:00:00.000Z', actor: 'a', action: 'logout', target: null, detail: {} }));
    const before = await readFile(path, 'utf8');
    await assert.rejects(fx.store.transaction(async (tx) => {
      await tx.appendAudit({ at: '2026-01-01T00:00:01.000Z', actor: 'a', action: 'logout', target: null, detail: {} });
      throw new Error('no');
    }));
    assert.equal(await readFile(path, 'utf8'), before);
    await fx.cleanup();
  });

  test('a second store on the same file is refused while the first is open; a stale lock is taken over', async () => {
    const dir = join(root, 'locked');
    const path = join(dir, 'auth.json');
    const url = pathToFileURL(path).href;
    const first = await openAuthStore(url);
    await assert.rejects(openAuthStore(url), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_STORE' && /already open/.test(e.message));
    await first.close();
    // A lock left by a process that has exited (pid 2^22 + 1 is above any Linux pid_max default).
    await writeFile(`${path}.lock`, `${2 ** 22 + 1}\n`);
    const again = await openAuthStore(url);
    await again.close();
    // A lock held by another live process (this test's parent, which is not this process).
    await writeFile(`${path}.lock`, `${process.ppid}\n`);
    await assert.rejects(openAuthStore(url), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_STORE' && e.message.includes(`process ${process.ppid}`));
  });

  test('a bad URL, an unreadable document and a foreign document fail naming the file', async () => {
    await assert.rejects(openAuthStore(`file://${root}/auth.txt`), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_BAD_URL' && /\.json/.test(e.message));
    await assert.rejects(openAuthStore('ftp://x/auth.json'), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_UNKNOWN_SCHEME' && /file:\/\//.test(e.message));
    const broken = join(root, 'broken.json');
    await writeFile(broken, '{ not json');
    await assert.rejects(openAuthStore(pathToFileURL(broken).href), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_STORE' && e.message.includes(broken));
    const foreign = join(root, 'foreign.json');
    await writeFile(foreign, JSON.stringify({ users: [] }));
    await assert.rejects(openAuthStore(pathToFileURL(foreign).href), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_STORE' && /tickline-auth/.test(e.message));
    // The failed opens released their locks.
    await (await openAuthStore(pathToFileURL(join(root, 'fresh.json')).href)).close();
    await writeFile(broken, JSON.stringify({ format: 'tickline-auth', version: 1, users: [], keys: [], sessions: [], audit: [], auditHead: { seq: 0, hash: '0'.repeat(64) } }));
    await (await openAuthStore(pathToFileURL(broken).href)).close();
  });
});
