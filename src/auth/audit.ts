/**
 * The audit hash chain. Each entry carries the hash of the entry before it, and its own hash covers all
 * its fields including that link:
 *
 *     hash = hex SHA-256( canonicalJson({ seq, at, actor, action, target, detail, prevHash }) )
 *
 * so editing, removing or reordering an entry breaks the chain from there on. A separately stored head
 * (last seq and hash) catches what the chain alone cannot: entries cut off the end.
 */
import { createHash } from 'node:crypto';
import { show, TicklineError } from '../core/errors.ts';
import type { AuditEntry, AuditEvent, AuditHead } from './model.ts';

/** `prevHash` of the first entry, and the hash of the empty chain. */
export const GENESIS_HASH = '0'.repeat(64);

export const EMPTY_HEAD: Readonly<AuditHead> = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/**
 * JSON with object keys sorted by code unit and no whitespace, so the same entry serialises to the same
 * bytes whichever store returned it (Postgres jsonb, for one, reorders keys). Only what JSON represents
 * exactly is accepted: finite numbers, strings, booleans, null, arrays and plain objects.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TicklineError('TL_ERR_VALIDATION', `audit: numbers must be finite, got ${String(value)}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TicklineError('TL_ERR_VALIDATION', `audit: cannot hash a value of type ${typeof value}: ${show(value)}`);
}

/** The hash of an entry, computed from every field except `hash` itself. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = { seq: e.seq, at: e.at, actor: e.actor, action: e.action, target: e.target, detail: e.detail, prevHash: e.prevHash };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** The entry that follows `head`: next seq, linked to the head's hash, hashed. */
export function chainEntry(head: AuditHead, event: AuditEvent): AuditEntry {
  checkAuditEvent(event);
  const body = {
    seq: head.seq + 1,
    at: event.at,
    actor: event.actor,
    action: event.action,
    target: event.target,
    detail: { ...event.detail },
    prevHash: head.hash,
  };
  return { ...body, hash: entryHash(body) };
}

/**
 * Checks an event before it is chained, so that every store gives it back byte for byte (the hash depends
 * on it): `at` is ISO 8601 UTC with milliseconds exactly as `Date#toISOString` writes it, detail values are
 * flat JSON scalars, and no string holds NUL (which Postgres text and jsonb refuse).
 */
export function checkAuditEvent(event: AuditEvent): void {
  const at = new Date(event.at);
  if (Number.isNaN(at.getTime()) || at.toISOString() !== event.at) {
    throw new TicklineError('TL_ERR_VALIDATION', `audit: at must be an ISO 8601 UTC time with milliseconds, got ${show(event.at)}`);
  }
  const strings: [string, unknown][] = [['actor', event.actor], ['action', event.action], ['target', event.target]];
  for (const [k, v] of Object.entries(event.detail)) {
    const ok = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
    if (!ok) throw new TicklineError('TL_ERR_VALIDATION', `audit: detail.${k} must be a string, finite number, boolean or null, got ${show(v)}`);
    strings.push([`detail.${k}`, k], [`detail.${k}`, v]);
  }
  for (const [field, v] of strings) {
    if (typeof v === 'string' && v.includes('\0')) throw new TicklineError('TL_ERR_VALIDATION', `audit: ${field} must not contain NUL, got ${show(v)}`);
  }
  if (typeof event.actor !== 'string' || event.actor === '') throw new TicklineError('TL_ERR_VALIDATION', `audit: actor must be a non-empty string, got ${show(event.actor)}`);
}

export interface AuditVerifyResult {
  /** True when every entry is intact, linked, without gaps, and the last one is the stored head. */
  ok: boolean;
  /** Entries read. */
  entries: number;
  /** The first place where the chain is broken, and why. */
  firstBad?: { seq: number; reason: string };
}

/** What `verifyChain` reads: entries in ascending seq, page by page, and the stored head. */
export interface AuditSource {
  auditRange(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  auditHead(): Promise<AuditHead>;
}

const PAGE = 1000;

/**
 * Walks the whole chain in pages and reports the first inconsistency:
 * - an entry whose stored hash differs from the hash of its content (edited content or edited hash);
 * - a gap in seq (an entry removed in the middle) or a prevHash that is not the previous hash;
 * - a last entry that is not the stored head (entries removed from the end, or appended around the store).
 *
 * `anchor`, when given, is a head recorded earlier outside the store (a log line, a ticket): the chain
 * must still contain that seq with that hash, which catches a rewrite of the store *and* its head.
 */
export async function verifyChain(source: AuditSource, anchor?: AuditHead): Promise<AuditVerifyResult> {
  const head = await source.auditHead();
  let prev: AuditHead = EMPTY_HEAD;
  let entries = 0;
  let anchorSeen = anchor === undefined || anchor.seq === 0;
  // Until an empty page: a store may return fewer entries than asked without being at the end.
  for (let page = await source.auditRange(0, PAGE); page.length > 0; page = await source.auditRange(prev.seq, PAGE)) {
    for (const e of page) {
      entries++;
      const bad = checkLink(prev, e);
      if (bad) return { ok: false, entries, firstBad: bad };
      if (anchor && e.seq === anchor.seq) {
        if (e.hash !== anchor.hash) return { ok: false, entries, firstBad: { seq: e.seq, reason: `hash differs from the external anchor ${anchor.hash}` } };
        anchorSeen = true;
      }
      prev = { seq: e.seq, hash: e.hash };
    }
  }
  if (prev.seq !== head.seq || prev.hash !== head.hash) {
    const reason =
      prev.seq < head.seq
        ? `the chain ends at seq ${prev.seq} but the stored head is seq ${head.seq}: entries were removed from the end`
        : `the last entry (seq ${prev.seq}) is not the stored head (seq ${head.seq}, hash ${head.hash.slice(0, 12)}…)`;
    return { ok: false, entries, firstBad: { seq: Math.min(prev.seq, head.seq) + 1, reason } };
  }
  if (!anchorSeen) {
    return { ok: false, entries, firstBad: { seq: anchor!.seq, reason: `the chain has no entry seq ${anchor!.seq} named by the external anchor` } };
  }
  return { ok: true, entries };
}

function checkLink(prev: AuditHead, e: AuditEntry): { seq: number; reason: string } | null {
  if (e.seq !== prev.seq + 1) {
    return { seq: prev.seq + 1, reason: `entry seq ${prev.seq + 1} is missing (the next entry is seq ${e.seq})` };
  }
  if (e.prevHash !== prev.hash) {
    return { seq: e.seq, reason: `prevHash does not match the hash of entry seq ${prev.seq}` };
  }
  let computed: string;
  try {
    computed = entryHash(e);
  } catch {
    return { seq: e.seq, reason: 'the entry holds a value that cannot be hashed' };
  }
  if (computed !== e.hash) return { seq: e.seq, reason: 'the stored hash does not match the entry content' };
  return null;
}
