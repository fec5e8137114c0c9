/**
 * Which columns of a history file mean what. Two layouts:
 * - `ticks`: one price update per row (symbol, event time, price, and optionally size, bid, ask,
 *   currency, provider, seq);
 * - `daily`: one OHLCV bar per row and trading date (Yahoo Finance's CSV download and the like).
 *
 * Columns are found by name (case, spaces, `_` and `-` ignored, a few common aliases accepted) unless
 * `--map field=Column,…` names them; the layout follows from the columns unless `--layout` says.
 */
import { show, TicklineError } from '../core/errors.ts';

export const LAYOUTS = ['ticks', 'daily'] as const;
export type Layout = (typeof LAYOUTS)[number];

export const TICK_FIELDS = ['symbol', 'ts', 'price', 'size', 'bid', 'ask', 'currency', 'provider', 'seq'] as const;
export const DAILY_FIELDS = ['symbol', 'date', 'open', 'high', 'low', 'close', 'volume'] as const;
export type TickField = (typeof TICK_FIELDS)[number];
export type DailyField = (typeof DAILY_FIELDS)[number];
export type Field = TickField | DailyField;

/** Accepted column names per field, normalised (see `norm`), most specific first. */
const ALIASES: Record<Field, readonly string[]> = {
  symbol: ['symbol', 'ticker', 'sym', 'instrument', 'productid'],
  ts: ['ts', 'timestamp', 'time', 'datetime', 'eventtime', 'date'],
  price: ['price', 'last', 'lastprice', 'px', 'tradeprice'],
  size: ['size', 'volume', 'qty', 'quantity', 'amount'],
  bid: ['bid', 'bidprice'],
  ask: ['ask', 'askprice', 'offer'],
  currency: ['currency', 'ccy'],
  provider: ['provider', 'source'],
  seq: ['seq', 'sequence', 'tradeid', 'seqno'],
  date: ['date', 'day', 'tradingdate', 'ts', 'timestamp', 'time', 'datetime'],
  open: ['open'],
  high: ['high'],
  low: ['low'],
  close: ['close'],
  volume: ['volume', 'vol'],
};

const REQUIRED: Record<Layout, readonly Field[]> = {
  ticks: ['ts', 'price'],
  daily: ['date', 'open', 'high', 'low', 'close'],
};

/** Lower case without spaces, `_`, `-` and `.`: `Adj Close` → `adjclose`, `trade_id` → `tradeid`. */
export function norm(name: string): string {
  return name.toLowerCase().replace(/[\s_\-.]/g, '');
}

/** Parses `--map ts=Date,price=Close` into field → column. Column names may hold anything but `,`. */
export function parseMap(text: string | undefined): Partial<Record<Field, string>> {
  const out: Partial<Record<Field, string>> = {};
  if (text === undefined || text.trim() === '') return out;
  const all = new Set<string>([...TICK_FIELDS, ...DAILY_FIELDS]);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const field = (eq < 0 ? part : part.slice(0, eq)).trim();
    const column = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || field === '' || column === '') {
      throw new TicklineError('TL_ERR_VALIDATION', `--map: ${show(part)} is not field=Column (e.g. --map ts=Date,price=Close)`);
    }
    if (!all.has(field)) {
      throw new TicklineError('TL_ERR_VALIDATION', `--map: unknown field ${show(field)}; tick fields: ${TICK_FIELDS.join(', ')}; daily fields: ${DAILY_FIELDS.join(', ')}`);
    }
    if (out[field as Field] !== undefined) throw new TicklineError('TL_ERR_VALIDATION', `--map: field ${show(field)} is mapped twice`);
    out[field as Field] = column;
  }
  return out;
}

export interface Plan {
  layout: Layout;
  /** Field → source column, for the fields the file has. */
  columns: Partial<Record<Field, string>>;
}

function findColumn(columns: readonly string[], wanted: string): string | undefined {
  return columns.find((c) => c === wanted) ?? columns.find((c) => c.toLowerCase() === wanted.toLowerCase());
}

/**
 * Decides the layout and the column of each field. `layout` forces one; otherwise a file with open,
 * high, low and close columns (or a map naming them) is daily, else ticks. Fails with one message
 * naming what is missing and the file's columns.
 */
export function planColumns(columns: readonly string[], opts: { map: Partial<Record<Field, string>>; layout?: Layout; file: string }): Plan {
  const { map } = opts;
  for (const [field, column] of Object.entries(map)) {
    if (findColumn(columns, column) === undefined) {
      throw new TicklineError('TL_ERR_VALIDATION', `--map ${field}=${column}: ${opts.file} has no column ${show(column)}; its columns: ${columns.map((c) => show(c)).join(', ')}`);
    }
  }
  const byNorm = new Map<string, string>();
  for (const c of columns) if (!byNorm.has(norm(c))) byNorm.set(norm(c), c);
  const auto = (field: Field, taken: Set<string>): string | undefined => {
    for (const a of ALIASES[field]) {
      const c = byNorm.get(a);
      if (c !== undefined && !taken.has(c)) return c;
    }
    return undefined;
  };

  let layout = opts.layout;
  if (layout === undefined) {
    const dailyOnly = (['open', 'high', 'low', 'close', 'date'] as const).some((f) => map[f] !== undefined);
    const ohlc = (['open', 'high', 'low', 'close'] as const).every((f) => map[f] !== undefined || byNorm.has(f));
    layout = map.price !== undefined ? 'ticks' : dailyOnly || (ohlc && !byNorm.has('price')) ? 'daily' : 'ticks';
  }
  const fields: readonly Field[] = layout === 'ticks' ? TICK_FIELDS : DAILY_FIELDS;
  const wrong = Object.keys(map).filter((f) => !(fields as readonly string[]).includes(f));
  if (wrong.length > 0) {
    throw new TicklineError('TL_ERR_VALIDATION', `--map: ${wrong.join(', ')} ${wrong.length > 1 ? 'are not fields' : 'is not a field'} of the ${layout} layout (${fields.join(', ')})`);
  }

  const out: Partial<Record<Field, string>> = {};
  const taken = new Set<string>();
  // Mapped fields first, so automatic matching never takes a column the map gave to another field.
  for (const f of fields) {
    const m = map[f];
    if (m !== undefined) {
      out[f] = findColumn(columns, m)!;
      taken.add(out[f]!);
    }
  }
  for (const f of fields) {
    if (out[f] !== undefined) continue;
    const c = auto(f, taken);
    if (c !== undefined) {
      out[f] = c;
      taken.add(c);
    }
  }
  const missing = REQUIRED[layout].filter((f) => out[f] === undefined);
  if (missing.length > 0) {
    throw new TicklineError(
      'TL_ERR_VALIDATION',
      `${opts.file}: cannot find the ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} of a ${layout} file among ${columns.map((c) => show(c)).join(', ')}; ` +
        `name ${missing.length > 1 ? 'them' : 'it'} with --map (e.g. --map ${missing.map((f) => `${f}=Column`).join(',')})${opts.layout === undefined ? ', or choose the layout with --layout ticks|daily' : ''}`,
    );
  }
  return { layout, columns: out };
}
