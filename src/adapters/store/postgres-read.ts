/**
 * Reads of the Postgres store. Timestamps come back as float8 µs (exact below 2^53) so that rows map to
 * Ticks and Bars without a Date in between (Date would drop the microseconds).
 *
 * History is ordered by (ts, provider, seq with NULL last) — unique per symbol, because that is the
 * identity — so pages neither skip nor repeat ticks of equal event time. Cursors carry that key.
 */
import type { PoolClient } from 'pg';
import type { Bar, Interval } from '../../core/bar.ts';
import { show, TicklineError } from '../../core/errors.ts';
import type { Tick } from '../../core/tick.ts';
import type { BarQuery, HistoryPage, HistoryQuery, SymbolInfo } from '../../ports/store.ts';
import { toTs, usOf } from './postgres-sql.ts';
import { checkHistoryArgs } from './query-checks.ts';

const TICK_SELECT = `symbol, ${usOf('ts')} AS ts, price, size, bid, ask, currency, provider, seq::float8 AS seq, ${usOf('recv_ts')} AS recv_ts`;

interface TickRow {
  symbol: string;
  ts: number;
  price: number;
  size: number;
  bid: number | null;
  ask: number | null;
  currency: string;
  provider: string;
  seq: number | null;
  recv_ts: number;
}

function toTick(r: TickRow): Tick {
  return {
    symbol: r.symbol,
    ts: r.ts,
    price: r.price,
    size: r.size,
    bid: r.bid,
    ask: r.ask,
    currency: r.currency,
    provider: r.provider,
    seq: r.seq,
    recvTs: r.recv_ts,
  };
}


interface CursorKey {
  desc: boolean;
  ts: number;
  provider: string;
  seq: number | null;
}

function encodeCursor(k: CursorKey): string {
  return Buffer.from(JSON.stringify([k.desc ? 'd' : 'a', k.ts, k.provider, k.seq])).toString('base64url');
}

function decodeCursor(cursor: unknown, desc: boolean): CursorKey {
  const bad = () => new TicklineError('TL_ERR_VALIDATION', `cursor ${show(cursor)} is not a cursor returned by this store`);
  if (typeof cursor !== 'string' || cursor.length > 1024 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 4) throw bad();
  const [dir, ts, provider, seq] = v as unknown[];
  if ((dir !== 'a' && dir !== 'd') || !Number.isSafeInteger(ts) || typeof provider !== 'string' || (seq !== null && !Number.isSafeInteger(seq))) {
    throw bad();
  }
  if ((dir === 'd') !== desc) {
    throw new TicklineError('TL_ERR_VALIDATION', `cursor ${show(cursor)} belongs to order=${dir === 'd' ? 'desc' : 'asc'} queries, not order=${desc ? 'desc' : 'asc'}`);
  }
  return { desc, ts: ts as number, provider, seq: seq as number | null };
}

/** Validates the query before any connection is taken. */
export function checkHistoryQuery(q: HistoryQuery): void {
  const order = checkHistoryArgs(q);
  if (q.cursor !== undefined) decodeCursor(q.cursor, order === 'desc');
}

export async function readHistory(client: PoolClient, s: string, q: HistoryQuery): Promise<HistoryPage> {
  const desc = (q.order ?? 'asc') === 'desc';
  const values: unknown[] = [q.symbol];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = ['symbol = $1'];
  if (q.from !== undefined) where.push(`ts >= ${toTs(param(q.from))}`);
  if (q.to !== undefined) where.push(`ts < ${toTs(param(q.to))}`);
  if (q.cursor !== undefined) {
    const c = decodeCursor(q.cursor, desc);
    const ts = toTs(param(c.ts));
    const p = param(c.provider);
    // Ascending order puts NULL seq last; descending (its exact reverse) puts it first.
    let seqAfter: string;
    if (desc) seqAfter = c.seq === null ? 'seq IS NOT NULL' : `seq < ${param(c.seq)}`;
    else seqAfter = c.seq === null ? 'false' : `(seq > ${param(c.seq)} OR seq IS NULL)`;
    const [cmp, strict] = desc ? ['<=', '<'] : ['>=', '>'];
    where.push(`ts ${cmp} ${ts}`, `(ts ${strict} ${ts} OR provider ${strict} ${p} OR (provider = ${p} AND ${seqAfter}))`);
  }
  const dir = desc ? 'DESC' : 'ASC';
  const limit = param(q.limit + 1);
  const res = await client.query<TickRow>(
    `SELECT ${TICK_SELECT} FROM ${s}.ticks WHERE ${where.join(' AND ')} ORDER BY ticks.ts ${dir}, provider ${dir}, ticks.seq ${dir} LIMIT ${limit}`,
    values,
  );
  const more = res.rows.length > q.limit;
  const ticks = (more ? res.rows.slice(0, q.limit) : res.rows).map(toTick);
  const last = ticks[ticks.length - 1];
  const next = more && last ? encodeCursor({ desc, ts: last.ts, provider: last.provider, seq: last.seq }) : null;
  return { ticks, next };
}


interface BarRow {
  symbol: string;
  interval: Interval;
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
  first_ts: number;
  last_ts: number;
}

/** Bars in ascending `start`; when more than `limit` match, the newest `limit` (what a chart wants). */
export async function readBars(client: PoolClient, s: string, q: BarQuery): Promise<Bar[]> {
  const values: unknown[] = [q.symbol, q.interval, q.limit];
  const where = ['symbol = $1', '"interval" = $2'];
  if (q.from !== undefined) {
    values.push(q.from);
    where.push(`start >= ${toTs(`$${values.length}`)}`);
  }
  if (q.to !== undefined) {
    values.push(q.to);
    where.push(`start < ${toTs(`$${values.length}`)}`);
  }
  const res = await client.query<BarRow>(
    `SELECT symbol, "interval", ${usOf('start')} AS start, open, high, low, close, volume, trades::float8 AS trades,
       ${usOf('first_ts')} AS first_ts, ${usOf('last_ts')} AS last_ts
     FROM ${s}.bars WHERE ${where.join(' AND ')} ORDER BY bars.start DESC LIMIT $3`,
    values,
  );
  return res.rows.reverse().map((r) => ({
    symbol: r.symbol,
    interval: r.interval,
    start: r.start,
    open: r.open,
    high: r.high,
    low: r.low,
    close: r.close,
    volume: r.volume,
    trades: r.trades,
    firstTs: r.first_ts,
    lastTs: r.last_ts,
  }));
}

/** From the per-day statistics the writes keep, so it costs one row per symbol and day, not a scan. */
export async function readSymbols(client: PoolClient, s: string): Promise<SymbolInfo[]> {
  const res = await client.query<{ symbol: string; ticks: number; first: number; last: number }>(
    `SELECT symbol, sum(ticks)::float8 AS ticks, ${usOf('min(first_ts)')} AS first, ${usOf('max(last_ts)')} AS last
     FROM ${s}.symbol_days GROUP BY symbol ORDER BY symbol`,
  );
  return res.rows.map((r) => ({ symbol: r.symbol, ticks: r.ticks, firstTs: r.first, lastTs: r.last }));
}

/**
 * The newest tick of each symbol: symbol_days knows its exact newest event time, so each symbol costs
 * one index probe in one partition. Of ticks with equal event time, the greatest (provider, seq) wins.
 */
export async function readLatest(client: PoolClient, s: string): Promise<Tick[]> {
  const res = await client.query<TickRow>(
    `SELECT t.* FROM (SELECT symbol, max(last_ts) AS last FROM ${s}.symbol_days GROUP BY symbol) d
     CROSS JOIN LATERAL (
       SELECT ${TICK_SELECT} FROM ${s}.ticks
       WHERE ticks.symbol = d.symbol AND ticks.ts = d.last
       ORDER BY ticks.provider DESC, ticks.seq DESC LIMIT 1
     ) t ORDER BY t.symbol`,
  );
  return res.rows.map(toTick);
}
