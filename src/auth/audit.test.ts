import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isTicklineError } from '../core/errors.ts';
import { canonicalJson, chainEntry, EMPTY_HEAD, entryHash, GENESIS_HASH, verifyChain, type AuditSource } from './audit.ts';
import type { AuditEntry, AuditEvent, AuditHead } from './model.ts';

function event(i: number): AuditEvent {
  return { at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), actor: 'alice', action: 'user.add', target: `user${i}`, detail: { role: 'viewer', n: i } };
}

function chain(n: number): { entries: AuditEntry[]; head: AuditHead } {
  const entries: AuditEntry[] = [];
  let head: AuditHead = EMPTY_HEAD;
  for (let i = 1; i <= n; i++) {
    const e = chainEntry(head, event(i));
    entries.push(e);
    head = { seq: e.seq, hash: e.hash };
  }
  return { entries, head };
}

/** An in-memory source that pages like a store (small pages, to exercise paging). */
function source(entries: AuditEntry[], head: AuditHead): AuditSource {
  return {
    auditRange: async (afterSeq, limit) => entries.filter((e) => e.seq > afterSeq).slice(0, Math.min(limit, 3)),
    auditHead: async () => head,
  };
}

describe('audit chain', () => {
  test('canonical JSON sorts keys at every level and has no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } }), '{"a":{"c":true,"d":[1,"x",null]},"b":1}');
    assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
    assert.equal(canonicalJson('é\u2028"'), JSON.stringify('é\u2028"'));
    assert.throws(() => canonicalJson({ x: Number.NaN }), (e: unknown) => isTicklineError(e) && /finite/.test(e.message));
    assert.throws(() => canonicalJson({ x: new Date(0) }), (e: unknown) => isTicklineError(e) && /cannot hash/.test(e.message));
  });

  test('an entry hashes the canonical JSON of all its fields but the hash, linked to the previous hash', () => {
    const e = chainEntry(EMPTY_HEAD, event(1));
    assert.equal(e.seq, 1);
    assert.equal(e.prevHash, GENESIS_HASH);
    const { hash, ...body } = e;
    const expected = createHash('sha256').update(canonicalJson(body)).digest('hex');
    assert.equal(hash, expected);
    assert.equal(entryHash(e), expected);
    const next = chainEntry({ seq: e.seq, hash: e.hash }, event(2));
    assert.equal(next.seq, 2);
    assert.equal(next.prevHash, e.hash);
    // Any field changes the hash.
    for (const patch of [{ actor: 'bob' }, { target: null }, { detail: { role: 'admin', n: 1 } }, { at: '2026-01-01T00:00:02.000Z' }, { prevHash: '1'.repeat(64) }]) {
      assert.notEqual(entryHash({ ...body, ...patch }), hash, JSON.stringify(patch));
    }
  });

  test('events that would not survive a store byte for byte are refused', () => {
    const bad: Partial<AuditEvent>[] = [
      { at: '2026-01-01T00:00:00Z' },
      { at: 'yesterday' },
      { detail: { x: Number.POSITIVE_INFINITY } },
      { detail: { x: { nested: true } as unknown as string } },
      { target: 'a\u0000b' },
      { actor: '' },
    ];
    for (const patch of bad) {
      assert.throws(() => chainEntry(EMPTY_HEAD, { ...event(1), ...patch }), (e: unknown) => isTicklineError(e) && e.code === 'TL_ERR_VALIDATION', JSON.stringify(patch));
    }
  });

  test('an intact chain verifies, across pages', async () => {
    const { entries, head } = chain(10);
    assert.deepEqual(await verifyChain(source(entries, head)), { ok: true, entries: 10 });
    assert.deepEqual(await verifyChain(source([], EMPTY_HEAD)), { ok: true, entries: 0 });
  });

  test('an edited detail, an edited hash, a deleted middle entry and a deleted tail are each found', async () => {
    const { entries, head } = chain(6);
    const edited = entries.map((e) => (e.seq === 3 ? { ...e, detail: { ...e.detail, role: 'admin' } } : e));
    assert.deepEqual((await verifyChain(source(edited, head))).firstBad?.seq, 3);

    const rehashed = entries.map((e) => (e.seq === 4 ? { ...e, hash: 'f'.repeat(64) } : e));
    const r = await verifyChain(source(rehashed, head));
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 4);
    assert.match(r.firstBad!.reason, /hash does not match/);

    const gap = await verifyChain(source(entries.filter((e) => e.seq !== 2), head));
    assert.equal(gap.ok, false);
    assert.deepEqual(gap.firstBad?.seq, 2);
    assert.match(gap.firstBad!.reason, /missing/);

    const cut = await verifyChain(source(entries.slice(0, 5), head));
    assert.equal(cut.ok, false);
    assert.equal(cut.entries, 5);
    assert.equal(cut.firstBad?.seq, 6);
    assert.match(cut.firstBad!.reason, /removed from the end/);
  });

  test('a chain rewritten consistently (entries and head) is caught only by an external anchor', async () => {
    const { entries, head } = chain(4);
    const anchor = { seq: 2, hash: entries[1]!.hash };
    // Rewrite from entry 2 on, re-hashing everything as an attacker with write access could.
    let h: AuditHead = { seq: 1, hash: entries[0]!.hash };
    const forged = [entries[0]!];
    for (let i = 2; i <= 4; i++) {
      const e = chainEntry(h, { ...event(i), actor: 'mallory' });
      forged.push(e);
      h = { seq: e.seq, hash: e.hash };
    }
    assert.equal((await verifyChain(source(forged, h))).ok, true);
    const r = await verifyChain(source(forged, h), anchor);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 2);
    assert.equal((await verifyChain(source(entries, head), anchor)).ok, true);
    const missing = await verifyChain(source(entries, head), { seq: 9, hash: head.hash });
    assert.equal(missing.ok, false);
    assert.match(missing.firstBad!.reason, /no entry seq 9/);
  });
});
