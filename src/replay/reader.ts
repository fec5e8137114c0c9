/**
 * Reads CSV, JSON-lines and Parquet history files in batches with DuckDB (an in-memory instance of its
 * own): the file is streamed chunk by chunk (2,048 rows), never materialised, and every value is parsed
 * and typed by DuckDB in SQL, so JavaScript only copies finished numbers and strings into ticks or bars.
 *
 * Bad rows never stop a file. A value that does not parse (a price `abc`, a timestamp `yesterday`), a
 * missing required value, a JSON line that is not an object: each becomes a `BadRow` naming the row (or
 * line), the column and the value, and the rest of the file is read. CSV lines that cannot even be split
 * into the header's columns (too many or too few fields, broken encoding) are skipped by DuckDB's reader
 * and reported after the scan (`rejects()`), by line number. A file that cannot be read at all (missing,
 * not CSV/JSON/Parquet, no usable columns) fails once, up front, in `openReader`.
 *
 * JSON lines are read as lines of text and taken apart with DuckDB's JSON functions (rather than
 * `read_json`), so one malformed line is one bad row instead of an error for the whole file.
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBDataChunk, type DuckDBResult } from '@duckdb/node-api';
import { createReadStream, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Bar } from '../core/bar.ts';
import { show, TicklineError } from '../core/errors.ts';
import type { Tick } from '../core/tick.ts';
import { nowMicros, type Micros } from '../core/time.ts';
import { SYMBOL_RE } from '../config/schema.ts';
import { dailyBar } from '../sources/providers/daily.ts';
import { planColumns, type Field, type Layout, type Plan } from './layout.ts';

export const FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type FileFormat = (typeof FORMATS)[number];

/** Units `--ts-format` accepts for epoch numbers, besides strptime formats. */
const EPOCH_UNITS = { s: 1e6, ms: 1e3, us: 1, ns: 1e-3 } as const;

export interface ReaderOptions {
  file: string;
  /** Default: from the extension (`.csv`/`.tsv`/`.txt`, `.jsonl`/`.ndjson`/`.json`, `.parquet`/`.pq`, optionally `.gz`). */
  format?: FileFormat;
  /** CSV delimiter (default: `,` for .csv, tab for .tsv, else detected). */
  delim?: string;
  map?: Partial<Record<Field, string>>;
  layout?: Layout;
  /** The symbol of every row when the file has no symbol column; daily files default to the file name. */
  symbol?: string;
  provider: string;
  currency: string;
  /** A strptime format (`%d/%m/%Y %H:%M`) or an epoch unit (`s`, `ms`, `us`, `ns`); default: ISO 8601 or epoch by magnitude. */
  tsFormat?: string;
  /** IANA time zone of timestamps and dates written without an offset (default UTC). */
  tz: string;
}

/** One row that could not be used, and why. */
export interface BadRow {
  /** 1-based position among the rows the reader yields (for JSON lines: the line number); null for CSV lines the parser rejected. */
  row: number | null;
  /** The physical line, when known (JSON lines, rejected CSV lines). */
  line: number | null;
  /** The column (or `(line)`, `(record)`) of the first problem. */
  column: string;
  /** The offending value as read (text), or null when it was missing. */
  value: string | number | null;
  /** Every problem of the row, e.g. `row 17: column "price": "abc" is not a number`. */
  message: string;
  /** What could still be read, for filing the row in the quarantine zone. */
  symbol: string | null;
  ts: Micros | null;
}

export interface TickChunk {
  ticks: Tick[];
  /** The row of each tick (1-based, as BadRow.row). */
  rowOf: number[];
  bad: BadRow[];
  /** Rows consumed so far, this chunk included (counting from the start of the file). */
  end: number;
}

export interface DailyChunk {
  bars: Bar[];
  bad: BadRow[];
  /** Days with no prices at all (Yahoo's `null` rows): not bars, not errors. */
  skipped: number;
  end: number;
}

const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export function formatOf(file: string): FileFormat | undefined {
  const name = file.toLowerCase().replace(/\.(gz|zst)$/, '');
  if (/\.(csv|tsv|txt)$/.test(name)) return 'csv';
  if (/\.(jsonl|ndjson|json)$/.test(name)) return 'jsonl';
  if (/\.(parquet|pq)$/.test(name)) return 'parquet';
  return undefined;
}

/** `AAPL.csv` → `AAPL`, `BRK-B.csv.gz` → `BRK-B`, `VOD.L.csv` → `VOD.L`; undefined unless a valid symbol. */
export function symbolFromFileName(file: string): string | undefined {
  let stem = basename(file);
  for (let i = 0; i < 2; i++) stem = stem.replace(/\.(gz|zst|csv|tsv|txt|jsonl|ndjson|json|parquet|pq)$/i, '');
  const s = stem.trim().toUpperCase();
  return SYMBOL_RE.test(s) ? s : undefined;
}

function duckMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!.replace(/^(Invalid Input|IO|Binder|Parser|Conversion|Not implemented) Error: /, '');
}

/** How a field's value and (for text columns) its raw text are selected. */
interface Selected {
  value: number;
  raw: number | null;
  column: string;
}

/** An open file: its layout and columns are known; `chunks()` streams it. Close it when done. */
export class FileReader {
  readonly file: string;
  readonly format: FileFormat;
  readonly plan: Plan;
  /** The symbol used when the file has no symbol column (null: the column is required). */
  readonly fixedSymbol: string | null;
  /** Rows in the file: exact for Parquet, estimated from the size for text (0: unknown). */
  readonly totalRows: number;
  readonly totalExact: boolean;
  readonly #o: ReaderOptions;
  readonly #instance: DuckDBInstance;
  readonly #con: DuckDBConnection;
  readonly #source: string;
  readonly #types: Map<string, string>;
  #closed = false;

  private constructor(init: {
    file: string;
    format: FileFormat;
    plan: Plan;
    fixedSymbol: string | null;
    total: { rows: number; exact: boolean };
    options: ReaderOptions;
    instance: DuckDBInstance;
    con: DuckDBConnection;
    source: string;
    types: Map<string, string>;
  }) {
    this.file = init.file;
    this.format = init.format;
    this.plan = init.plan;
    this.fixedSymbol = init.fixedSymbol;
    this.totalRows = init.total.rows;
    this.totalExact = init.total.exact;
    this.#o = init.options;
    this.#instance = init.instance;
    this.#con = init.con;
    this.#source = init.source;
    this.#types = init.types;
  }

  get layout(): Layout {
    return this.plan.layout;
  }

  /** Opens the file, finds its columns and layout, and checks the options against them. */
  static async open(options: ReaderOptions): Promise<FileReader> {
    const file = resolve(options.file);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new TicklineError('TL_ERR_VALIDATION', `${file} is not a file`);
      size = st.size;
    } catch (cause) {
      if (cause instanceof TicklineError) throw cause;
      throw new TicklineError('TL_ERR_VALIDATION', `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message}`, { cause });
    }
    const format = options.format ?? formatOf(file);
    if (format === undefined) {
      throw new TicklineError('TL_ERR_VALIDATION', `cannot tell the format of ${basename(file)} from its name: use .csv, .tsv, .jsonl, .ndjson or .parquet (optionally .gz), or say --format csv|jsonl|parquet`);
    }
    const tz = options.tz;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
    } catch {
      throw new TicklineError('TL_ERR_VALIDATION', `--tz: unknown time zone ${show(tz)}; use an IANA name such as UTC, America/New_York or Europe/London`);
    }
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '512MB' });
    const con = await instance.connect();
    try {
      await con.run(`SET TimeZone = ${sqlString(tz)}`);
      await con.run(`CREATE TEMP MACRO tl_epoch(v) AS CASE WHEN v < 0 THEN NULL WHEN v < 1e11 THEN round(v * 1e6) WHEN v < 1e14 THEN round(v * 1e3) WHEN v < 1e17 THEN round(v) ELSE round(v / 1e3) END`);
      const tsFormat = options.tsFormat;
      if (tsFormat !== undefined && !(tsFormat in EPOCH_UNITS)) {
        if (!tsFormat.includes('%')) {
          throw new TicklineError('TL_ERR_VALIDATION', `--ts-format: ${show(tsFormat)} is neither a strptime format (such as %Y-%m-%d %H:%M:%S) nor an epoch unit (s, ms, us, ns)`);
        }
        try {
          await con.run(`SELECT try_strptime('', ${sqlString(tsFormat)})`);
        } catch (e) {
          throw new TicklineError('TL_ERR_VALIDATION', `--ts-format: ${show(tsFormat)} is not a valid strptime format: ${duckMessage(e)}`);
        }
      }
      const source = sourceSql(file, format, options.delim);
      let columns: Array<[string, string]>;
      try {
        columns = format === 'jsonl' ? await jsonKeys(con, source) : (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRows().map((r) => [String(r[0]), String(r[1])]);
      } catch (e) {
        throw new TicklineError('TL_ERR_VALIDATION', `cannot read ${file} as ${format}: ${duckMessage(e)}`);
      }
      if (columns.length === 0) throw new TicklineError('TL_ERR_VALIDATION', `cannot read ${file} as ${format}: it has no columns (an empty file?)`);
      const plan = planColumns(columns.map((c) => c[0]), { map: options.map ?? {}, layout: options.layout, file: basename(file) });
      let fixedSymbol: string | null = null;
      if (plan.columns.symbol === undefined) {
        if (options.symbol !== undefined) fixedSymbol = options.symbol.trim().toUpperCase();
        else if (plan.layout === 'daily') fixedSymbol = symbolFromFileName(file) ?? null;
        if (fixedSymbol === null) {
          throw new TicklineError(
            'TL_ERR_VALIDATION',
            plan.layout === 'daily'
              ? `${basename(file)} has no symbol column and its name is not a symbol: pass --symbol (e.g. --symbol AAPL)`
              : `${basename(file)} has no symbol column: pass --symbol, or name the column with --map symbol=Column`,
          );
        }
      }
      const total = format === 'parquet' ? await parquetRows(con, file) : await estimateRows(file, size, format);
      return new FileReader({ file, format, plan, fixedSymbol, total, options, instance, con, source, types: new Map(columns) });
    } catch (e) {
      con.closeSync();
      instance.closeSync();
      throw e;
    }
  }

  /** The word for a position in this file's messages. */
  #where(row: number): string {
    return this.format === 'jsonl' ? `line ${row}` : `row ${row}`;
  }

  /** The column reference of a file column in SQL. */
  #ref(column: string): string {
    if (this.format !== 'jsonl') return ident(column);
    return `CASE WHEN jt = 'OBJECT' THEN json_extract_string(line, ${sqlString(`$."${column.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)}) END`;
  }

  #isText(column: string): boolean {
    if (this.format === 'jsonl') return true;
    const t = this.#types.get(column) ?? 'VARCHAR';
    return !/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|REAL|DATE|TIMESTAMP.*)$/.test(t);
  }

  #type(column: string): string {
    return this.format === 'jsonl' ? 'VARCHAR' : (this.#types.get(column) ?? 'VARCHAR');
  }

  /** SQL of a field's value: DOUBLE for numbers and times (µs), VARCHAR for text. */
  #valueSql(field: Field, column: string): string {
    const ref = this.#ref(column);
    const text = this.#isText(column);
    const t = this.#type(column);
    const asText = text && t !== 'VARCHAR' ? `CAST(${ref} AS VARCHAR)` : ref;
    switch (field) {
      case 'symbol':
      case 'currency':
        return `upper(trim(CAST(${ref} AS VARCHAR)))`;
      case 'provider':
        return `trim(CAST(${ref} AS VARCHAR))`;
      case 'ts':
        return this.#timeSql(ref, asText, text, t);
      case 'date':
        return this.#dateSql(ref, asText, text, t);
      default:
        return text ? `TRY_CAST(${asText} AS DOUBLE)` : `CAST(${ref} AS DOUBLE)`;
    }
  }

  #timeSql(ref: string, asText: string, text: boolean, type: string): string {
    const f = this.#o.tsFormat;
    const unit = f !== undefined && f in EPOCH_UNITS ? EPOCH_UNITS[f as keyof typeof EPOCH_UNITS] : undefined;
    if (unit !== undefined) return `round(${text ? `TRY_CAST(${asText} AS DOUBLE)` : `CAST(${ref} AS DOUBLE)`} * ${unit})`;
    if (!text) {
      if (/^TIMESTAMP WITH TIME ZONE$/.test(type)) return `epoch_us(${ref})::DOUBLE`;
      if (/^(DATE|TIMESTAMP.*)$/.test(type)) return `epoch_us(CAST(${ref} AS TIMESTAMPTZ))::DOUBLE`;
      return `tl_epoch(CAST(${ref} AS DOUBLE))`;
    }
    if (f !== undefined) return `epoch_us(CAST(try_strptime(${asText}, ${sqlString(f)}) AS TIMESTAMPTZ))::DOUBLE`;
    // Text without a format: ISO 8601 (an offset, or the --tz zone when there is none), else epoch by magnitude.
    return `coalesce(epoch_us(TRY_CAST(${asText} AS TIMESTAMPTZ))::DOUBLE, tl_epoch(TRY_CAST(${asText} AS DOUBLE)))`;
  }

  /** The trading date as UTC midnight in µs: the date as written (no time-zone shift). */
  #dateSql(ref: string, asText: string, text: boolean, type: string): string {
    const f = this.#o.tsFormat;
    const day = `86400000000`;
    const unit = f !== undefined && f in EPOCH_UNITS ? EPOCH_UNITS[f as keyof typeof EPOCH_UNITS] : undefined;
    const fromEpoch = (v: string): string => `floor(${v} / ${day}) * ${day}`;
    if (unit !== undefined) return fromEpoch(`round(${text ? `TRY_CAST(${asText} AS DOUBLE)` : `CAST(${ref} AS DOUBLE)`} * ${unit})`);
    if (!text) {
      if (/^(DATE|TIMESTAMP.*)$/.test(type)) return `epoch_us(CAST(CAST(${ref} AS DATE) AS TIMESTAMP))::DOUBLE`;
      return fromEpoch(`tl_epoch(CAST(${ref} AS DOUBLE))`);
    }
    if (f !== undefined) return `epoch_us(CAST(CAST(try_strptime(${asText}, ${sqlString(f)}) AS DATE) AS TIMESTAMP))::DOUBLE`;
    return `coalesce(epoch_us(CAST(TRY_CAST(${asText} AS DATE) AS TIMESTAMP))::DOUBLE, ${fromEpoch(`tl_epoch(TRY_CAST(${asText} AS DOUBLE))`)})`;
  }

  /** The SELECT streaming the file, and where each field lands in it. */
  #select(skip: number): { sql: string; fields: Partial<Record<Field, Selected>>; jsonType: number | null; line: number | null } {
    const exprs: string[] = [];
    const fields: Partial<Record<Field, Selected>> = {};
    for (const [field, column] of Object.entries(this.plan.columns) as Array<[Field, string]>) {
      const value = exprs.push(this.#valueSql(field, column)) - 1;
      // The raw text, to quote a value that did not parse. Typed columns always parse.
      const needsRaw = this.#isText(column) && !['symbol', 'currency', 'provider'].includes(field);
      const raw = needsRaw ? exprs.push(this.#type(column) === 'VARCHAR' || this.format === 'jsonl' ? this.#ref(column) : `CAST(${this.#ref(column)} AS VARCHAR)`) - 1 : null;
      fields[field] = { value, raw, column };
    }
    let jsonType: number | null = null;
    let line: number | null = null;
    if (this.format === 'jsonl') {
      jsonType = exprs.push('jt') - 1;
      line = exprs.push('line') - 1;
    }
    const sql = `SELECT ${exprs.join(', ')} FROM ${this.#source}${skip > 0 ? ` OFFSET ${skip}` : ''}`;
    return { sql, fields, jsonType, line };
  }

  /** Ticks in file order, one chunk per DuckDB vector, starting after `skip` rows. */
  async *tickChunks(skip = 0): AsyncGenerator<TickChunk> {
    if (this.layout !== 'ticks') throw new TicklineError('TL_ERR_INTERNAL', 'tickChunks() on a daily file');
    const sel = this.#select(skip);
    const o = this.#o;
    const f = sel.fields;
    let row = skip;
    for await (const chunk of this.#chunks(sel.sql)) {
      const n = chunk.rowCount;
      const col = (s: Selected | undefined) => (s === undefined ? null : chunk.getColumnVector(s.value));
      const symV = col(f.symbol);
      const tsV = col(f.ts)!;
      const priceV = col(f.price)!;
      const sizeV = col(f.size);
      const bidV = col(f.bid);
      const askV = col(f.ask);
      const curV = col(f.currency);
      const provV = col(f.provider);
      const seqV = col(f.seq);
      const jt = sel.jsonType === null ? null : chunk.getColumnVector(sel.jsonType);
      const recvTs = nowMicros();
      const ticks: Tick[] = [];
      const rowOf: number[] = [];
      const bad: BadRow[] = [];
      for (let i = 0; i < n; i++) {
        row++;
        if (jt !== null) {
          const kind = jt.getItem(i) as string | null;
          if (kind !== 'OBJECT') {
            const text = chunk.getColumnVector(sel.line!).getItem(i) as string | null;
            if (text === null || text.trim() === '') continue; // a blank line
            bad.push(this.#bad(row, '(line)', text, kind === null ? 'is not valid JSON' : `is a JSON ${kind.toLowerCase()}, not an object`, null, null));
            continue;
          }
        }
        const issues: Issue[] = [];
        const symbol = this.#symbol(symV, f.symbol, i, issues);
        const ts = this.#num(chunk, f.ts!, tsV, i, issues, true, 'is not an ISO 8601 date-time or epoch number');
        const price = this.#num(chunk, f.price!, priceV, i, issues, true, 'is not a number');
        const size = sizeV === null ? 0 : this.#num(chunk, f.size!, sizeV, i, issues, false, 'is not a number');
        const bid = bidV === null ? null : this.#num(chunk, f.bid!, bidV, i, issues, false, 'is not a number');
        const ask = askV === null ? null : this.#num(chunk, f.ask!, askV, i, issues, false, 'is not a number');
        let seq: number | null = row;
        if (seqV !== null) {
          seq = this.#num(chunk, f.seq!, seqV, i, issues, false, 'is not a number');
          if (seq !== null && !Number.isSafeInteger(seq)) issues.push({ column: f.seq!.column, value: seq, what: 'is not an integer' });
        }
        const currency = curV === null ? null : (curV.getItem(i) as string | null);
        const provider = provV === null ? null : (provV.getItem(i) as string | null);
        if (currency !== null && currency.length > 64) issues.push({ column: f.currency!.column, value: currency, what: 'is longer than 64 characters' });
        if (provider !== null && provider.length > 64) issues.push({ column: f.provider!.column, value: provider, what: 'is longer than 64 characters' });
        if (issues.length > 0) {
          bad.push(this.#issues(row, issues, symbol, ts));
          continue;
        }
        ticks.push({
          symbol: symbol!,
          ts: ts!,
          price: price!,
          size: size ?? 0,
          bid,
          ask,
          currency: currency === null || currency === '' ? o.currency : currency,
          provider: provider === null || provider === '' ? o.provider : provider,
          seq,
          recvTs,
        });
        rowOf.push(row);
      }
      yield { ticks, rowOf, bad, end: row };
    }
  }

  /** Daily bars in file order, one chunk per DuckDB vector, starting after `skip` rows. */
  async *dailyChunks(skip = 0): AsyncGenerator<DailyChunk> {
    if (this.layout !== 'daily') throw new TicklineError('TL_ERR_INTERNAL', 'dailyChunks() on a tick file');
    const sel = this.#select(skip);
    const f = sel.fields;
    let row = skip;
    for await (const chunk of this.#chunks(sel.sql)) {
      const n = chunk.rowCount;
      const v = (s: Selected | undefined) => (s === undefined ? null : chunk.getColumnVector(s.value));
      const symV = v(f.symbol);
      const dateV = v(f.date)!;
      const ohlcV = (['open', 'high', 'low', 'close'] as const).map((k) => [k, v(f[k])!] as const);
      const volV = v(f.volume);
      const jt = sel.jsonType === null ? null : chunk.getColumnVector(sel.jsonType);
      const bars: Bar[] = [];
      const bad: BadRow[] = [];
      let skipped = 0;
      for (let i = 0; i < n; i++) {
        row++;
        if (jt !== null) {
          const kind = jt.getItem(i) as string | null;
          if (kind !== 'OBJECT') {
            const text = chunk.getColumnVector(sel.line!).getItem(i) as string | null;
            if (text === null || text.trim() === '') continue;
            bad.push(this.#bad(row, '(line)', text, kind === null ? 'is not valid JSON' : `is a JSON ${kind.toLowerCase()}, not an object`, null, null));
            continue;
          }
        }
        // A day without any price (Yahoo writes `null`) had no trading: skipped, like the provider does.
        if (ohlcV.every(([k, vec]) => vec.getItem(i) === null && isMissing(this.#raw(chunk, f[k]!, i)))) {
          skipped++;
          continue;
        }
        const issues: Issue[] = [];
        const symbol = this.#symbol(symV, f.symbol, i, issues);
        const start = this.#num(chunk, f.date!, dateV, i, issues, true, 'is not a date');
        const p: Record<string, number | null> = {};
        for (const [k, vec] of ohlcV) p[k] = this.#num(chunk, f[k]!, vec, i, issues, true, 'is not a number');
        const volume = volV === null ? 0 : this.#num(chunk, f.volume!, volV, i, issues, false, 'is not a number');
        if (issues.length > 0) {
          bad.push(this.#issues(row, issues, symbol, start));
          continue;
        }
        bars.push(dailyBar(symbol!, start!, { open: p.open!, high: p.high!, low: p.low!, close: p.close!, volume: volume ?? 0 }));
      }
      yield { bars, bad, skipped, end: row };
    }
  }

  /**
   * CSV lines DuckDB could not split into the header's columns (too many or too few fields, invalid
   * UTF-8), by line. Complete only after a chunk iterator ran to the end.
   */
  async rejects(): Promise<BadRow[]> {
    if (this.format === 'parquet') return [];
    let rows: unknown[][];
    try {
      rows = (await this.#con.runAndReadAll('SELECT line, column_name, error_type, csv_line, error_message FROM tl_rejects ORDER BY line')).getRows();
    } catch {
      return []; // no table: nothing was rejected
    }
    const seen = new Set<number>();
    const out: BadRow[] = [];
    for (const r of rows) {
      const line = Number(r[0]);
      if (seen.has(line)) continue;
      seen.add(line);
      const column = r[1] === null ? '(record)' : String(r[1]);
      const text = r[3] === null ? null : String(r[3]);
      const why = String(r[4]).split('\n')[0]!;
      out.push({ row: null, line, column, value: text, message: `line ${line}: ${String(r[2]).toLowerCase()}: ${why}${text === null ? '' : ` (${show(text)})`}`, symbol: null, ts: null });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#con.closeSync();
    this.#instance.closeSync();
  }

  async *#chunks(sql: string): AsyncGenerator<DuckDBDataChunk> {
    let result: DuckDBResult;
    try {
      result = await this.#con.stream(sql);
    } catch (e) {
      throw new TicklineError('TL_ERR_VALIDATION', `cannot read ${this.file}: ${duckMessage(e)}`);
    }
    for (;;) {
      let chunk: DuckDBDataChunk | null;
      try {
        chunk = await result.fetchChunk();
      } catch (e) {
        throw new TicklineError('TL_ERR_VALIDATION', `reading ${this.file} failed: ${duckMessage(e)}`);
      }
      if (chunk === null || chunk.rowCount === 0) return;
      yield chunk;
    }
  }

  #raw(chunk: DuckDBDataChunk, s: Selected, i: number): string | null {
    return s.raw === null ? null : (chunk.getColumnVector(s.raw).getItem(i) as string | null);
  }

  /** A number from a value column: null when missing (an issue if required) or unparseable (always an issue). */
  /** The row's symbol (the fixed one without a symbol column), or null after recording why it is unusable. */
  #symbol(vec: { getItem(i: number): unknown } | null, s: Selected | undefined, i: number, issues: Issue[]): string | null {
    const symbol = vec === null ? this.fixedSymbol! : (vec.getItem(i) as string | null);
    if (symbol === null || symbol === '') issues.push({ column: s!.column, value: null, what: 'is required' });
    else if (symbol.length > 64) issues.push({ column: s!.column, value: symbol, what: 'is longer than 64 characters' });
    else return symbol;
    return null;
  }

  #num(chunk: DuckDBDataChunk, s: Selected, vec: { getItem(i: number): unknown }, i: number, issues: Issue[], required: boolean, what: string): number | null {
    const v = vec.getItem(i) as number | null;
    if (v !== null) {
      if (Number.isFinite(v)) return v;
      issues.push({ column: s.column, value: this.#raw(chunk, s, i) ?? String(v), what: 'is not a finite number' });
      return null;
    }
    const raw = this.#raw(chunk, s, i);
    if (isMissing(raw)) {
      if (required) issues.push({ column: s.column, value: null, what: 'is required' });
      return null;
    }
    issues.push({ column: s.column, value: raw, what });
    return null;
  }

  #issues(row: number, issues: Issue[], symbol: string | null, ts: number | null): BadRow {
    const first = issues[0]!;
    const parts = issues.map((x) => `column ${show(x.column)}${x.value === null ? ' ' : `: ${show(x.value)} `}${x.what}`);
    return { row, line: this.format === 'jsonl' ? row : null, column: first.column, value: first.value, message: `${this.#where(row)}: ${parts.join('; ')}`, symbol, ts };
  }

  #bad(row: number, column: string, value: string | null, what: string, symbol: string | null, ts: number | null): BadRow {
    return { row, line: this.format === 'jsonl' ? row : null, column, value, message: `${this.#where(row)}: ${value === null ? '' : `${show(value)} `}${what}`, symbol, ts };
  }
}

interface Issue {
  column: string;
  value: string | number | null;
  what: string;
}

function isMissing(raw: string | null): boolean {
  if (raw === null) return true;
  const t = raw.trim();
  return t === '' || t.toLowerCase() === 'null';
}

/** The FROM clause reading the file. */
function sourceSql(file: string, format: FileFormat, delim: string | undefined): string {
  const path = sqlString(file);
  const rejects = `ignore_errors = true, store_rejects = true, rejects_table = 'tl_rejects', rejects_scan = 'tl_rejects_scan'`;
  if (format === 'parquet') return `read_parquet(${path})`;
  if (format === 'jsonl') {
    // Each line as one text column: \x01 never occurs in valid JSON text (control characters are escaped).
    const lines = `read_csv(${path}, columns = {'line': 'VARCHAR'}, header = false, delim = E'\\x01', quote = '', escape = '', auto_detect = false, ${rejects})`;
    return `(SELECT line, CASE WHEN json_valid(line) THEN json_type(line) END AS jt FROM ${lines})`;
  }
  const d = delim ?? (/\.tsv(\.(gz|zst))?$/i.test(file) ? '\t' : /\.csv(\.(gz|zst))?$/i.test(file) ? ',' : undefined);
  return `read_csv(${path}, header = true, all_varchar = true${d === undefined ? '' : `, delim = ${sqlString(d)}`}, ${rejects})`;
}

/** Keys of the JSON objects in the first lines, in order of first appearance. */
async function jsonKeys(con: DuckDBConnection, source: string): Promise<Array<[string, string]>> {
  const sql = `SELECT k FROM (SELECT unnest(json_keys(line)) AS k, row_number() OVER () AS n FROM (SELECT line FROM ${source} WHERE jt = 'OBJECT' LIMIT 1000)) GROUP BY k ORDER BY min(n)`;
  const rows = (await con.runAndReadAll(sql)).getRows();
  if (rows.length === 0) throw new Error('no line of the first 1000 is a JSON object');
  return rows.map((r) => [String(r[0]), 'VARCHAR']);
}

async function parquetRows(con: DuckDBConnection, file: string): Promise<{ rows: number; exact: boolean }> {
  try {
    const r = (await con.runAndReadAll(`SELECT count(*)::DOUBLE FROM read_parquet(${sqlString(file)})`)).getRows();
    return { rows: Number(r[0]![0]), exact: true };
  } catch {
    return { rows: 0, exact: false };
  }
}

/** Rows of a text file estimated from its size and the line length of its first MiB (exact when smaller). */
async function estimateRows(file: string, size: number, format: FileFormat): Promise<{ rows: number; exact: boolean }> {
  if (/\.(gz|zst)$/i.test(file) || size === 0) return { rows: 0, exact: false };
  const sample = 1 << 20;
  let lines = 0;
  let bytes = 0;
  await new Promise<void>((resolveRead, reject) => {
    const s = createReadStream(file, { start: 0, end: Math.min(size, sample) - 1 });
    s.on('data', (b: Buffer | string) => {
      const buf = typeof b === 'string' ? Buffer.from(b) : b;
      bytes += buf.length;
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    });
    s.on('end', () => resolveRead());
    s.on('error', reject);
  });
  const header = format === 'csv' ? 1 : 0;
  if (size <= sample) {
    // A last line without a newline still counts. Not exact: blank lines and quoted line breaks count too.
    return { rows: Math.max(0, lines + (bytes > 0 && !(await endsWithNewline(file, size)) ? 1 : 0) - header), exact: false };
  }
  if (lines === 0) return { rows: 0, exact: false };
  return { rows: Math.max(0, Math.round((size / bytes) * lines) - header), exact: false };
}

async function endsWithNewline(file: string, size: number): Promise<boolean> {
  return new Promise((resolveRead, reject) => {
    const s = createReadStream(file, { start: size - 1, end: size - 1 });
    let last = -1;
    s.on('data', (b: Buffer | string) => (last = typeof b === 'string' ? b.charCodeAt(0) : b[0]!));
    s.on('end', () => resolveRead(last === 10));
    s.on('error', reject);
  });
}

export function openReader(options: ReaderOptions): Promise<FileReader> {
  return FileReader.open(options);
}
