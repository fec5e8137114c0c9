import { observedValue } from './columns.ts';
import { FAIL, PASS, SKIP, failure, type Batch, type BatchCheck, type CheckMeta, type ExpectationDef, type RowFailure } from './definition.ts';
import { SessionCalendar, WEEKDAYS, dayInfo, isTimezone, localDayOf, type SessionRules, type Weekday } from './calendar.ts';
import { IdCache, UNKNOWN } from './id-cache.ts';
import { compileFullMatch, type ParamReader } from './params.ts';

/*
 * `trading_hours`: ticks of symbols mapped to an exchange must carry an event time inside one of that
 * exchange's sessions (local time, DST-aware, holidays and early closes excluded). Symbols mapped to no
 * exchange (crypto trades around the clock) are not evaluated.
 */

const EXCHANGE_KEYS = ['timezone', 'open', 'close', 'days', 'holidays', 'early_closes'] as const;
const EXCHANGE_RE = /^[A-Za-z0-9_-]+$/;
const TIME_RE = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const DEFAULT_DAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];

interface Exchange {
  name: string;
  rules: SessionRules;
  /** "09:30–16:00 America/New_York" */
  hours: string;
}

interface SymbolMap {
  exact: Map<string, number>;
  patterns: Array<{ re: RegExp; exchange: number }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "HH:MM" (or "24:00") → minutes after midnight; reports a missing or malformed time. */
function readTime(p: ParamReader, path: string, v: unknown): number | undefined {
  if (v == null) {
    p.report(path, undefined, 'is required: a local time "HH:MM"');
    return undefined;
  }
  const m = typeof v === 'string' ? TIME_RE.exec(v) : null;
  if (m === null) {
    p.report(path, v, 'must be a local time "HH:MM" (00:00 to 24:00)');
    return undefined;
  }
  return Number(m[1] ?? m[3]) * 60 + Number(m[2] ?? m[4]);
}

/** A real calendar date "YYYY-MM-DD" (not 2026-02-30). */
function isDate(v: unknown): v is string {
  if (typeof v !== 'string' || !DATE_RE.test(v)) return false;
  const ms = Date.parse(`${v}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
}

function readExchange(p: ParamReader, name: string, raw: unknown): SessionRules | undefined {
  const at = `exchanges.${name}`;
  let ok = EXCHANGE_RE.test(name);
  if (!ok) p.report('exchanges', name, 'exchange names use letters, digits, _ and - only');
  if (!isObject(raw)) {
    p.report(at, raw, 'must be a mapping with timezone, open, close and optional days, holidays, early_closes');
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!(EXCHANGE_KEYS as readonly string[]).includes(key)) {
      p.report(`${at}.${key}`, raw[key], `unknown parameter; allowed: ${EXCHANGE_KEYS.join(', ')}`);
      ok = false;
    }
  }
  const timezone = raw.timezone;
  if (typeof timezone !== 'string' || !isTimezone(timezone)) {
    p.report(`${at}.timezone`, timezone, 'must be an IANA time zone such as America/New_York');
    ok = false;
  }
  const open = readTime(p, `${at}.open`, raw.open);
  const close = readTime(p, `${at}.close`, raw.close);
  if (open !== undefined && close !== undefined && close <= open) {
    p.report(`${at}.close`, raw.close, `must be after open (${String(raw.open)})`);
    ok = false;
  }
  const days = readDays(p, `${at}.days`, raw.days);
  const holidays = readDates(p, `${at}.holidays`, raw.holidays);
  const earlyCloses = readEarlyCloses(p, `${at}.early_closes`, raw.early_closes);
  if (!ok || open === undefined || close === undefined || days === undefined || holidays === undefined || earlyCloses === undefined) return undefined;
  return { timezone: timezone as string, open, close, days, holidays, earlyCloses };
}

function readDays(p: ParamReader, path: string, raw: unknown): Set<Weekday> | undefined {
  if (raw == null) return new Set(DEFAULT_DAYS);
  if (!Array.isArray(raw) || raw.length === 0) {
    p.report(path, raw, `must be a non-empty list of ${WEEKDAYS.join(', ')}`);
    return undefined;
  }
  const days = new Set<Weekday>();
  let ok = true;
  for (const d of raw as unknown[]) {
    if (typeof d !== 'string' || !(WEEKDAYS as readonly string[]).includes(d)) {
      p.report(path, d, `is not a weekday; use ${WEEKDAYS.join(', ')}`);
      ok = false;
    } else days.add(d as Weekday);
  }
  return ok ? days : undefined;
}

function readDates(p: ParamReader, path: string, raw: unknown): Set<string> | undefined {
  if (raw == null) return new Set();
  if (!Array.isArray(raw)) {
    p.report(path, raw, 'must be a list of local dates "YYYY-MM-DD"');
    return undefined;
  }
  const bad = (raw as unknown[]).filter((d) => !isDate(d));
  for (const d of bad) p.report(path, d, 'is not a date "YYYY-MM-DD"');
  return bad.length === 0 ? new Set(raw as string[]) : undefined;
}

function readEarlyCloses(p: ParamReader, path: string, raw: unknown): Map<string, number> | undefined {
  if (raw == null) return new Map();
  if (!isObject(raw)) {
    p.report(path, raw, 'must map local dates "YYYY-MM-DD" to close times "HH:MM"');
    return undefined;
  }
  const out = new Map<string, number>();
  let ok = true;
  for (const [date, time] of Object.entries(raw)) {
    const minutes = readTime(p, `${path}.${date}`, time);
    if (!isDate(date)) {
      p.report(path, date, 'is not a date "YYYY-MM-DD"');
      ok = false;
    }
    if (minutes === undefined) ok = false;
    else out.set(date, minutes);
  }
  return ok ? out : undefined;
}

/**
 * `symbols` maps exchanges to lists of symbols. An entry written `^...$` is a regular expression matched
 * against the whole symbol (no valid symbol ends in `$`, so the forms cannot be confused); any other entry
 * is an exact symbol. Exact symbols win over patterns; patterns are tried in file order.
 */
function readSymbols(p: ParamReader, raw: unknown, exchanges: ReadonlyMap<string, number>): SymbolMap | undefined {
  if (raw === undefined) {
    p.report('symbols', undefined, 'is required: a mapping of exchange to symbols or ^patterns$');
    return undefined;
  }
  if (!isObject(raw)) {
    p.report('symbols', raw, 'must map exchange names to lists of symbols or ^patterns$');
    return undefined;
  }
  const map: SymbolMap = { exact: new Map(), patterns: [] };
  let ok = true;
  const fail = (path: string, v: unknown, msg: string) => {
    p.report(path, v, msg);
    ok = false;
  };
  for (const [name, list] of Object.entries(raw)) {
    const exchange = exchanges.get(name);
    if (exchange === undefined) fail('symbols', name, `names an exchange not defined under exchanges (${[...exchanges.keys()].join(', ')})`);
    if (!Array.isArray(list)) {
      fail(`symbols.${name}`, list, 'must be a list of symbols or ^patterns$');
      continue;
    }
    for (const entry of list as unknown[]) {
      if (typeof entry !== 'string' || entry === '') fail(`symbols.${name}`, entry, 'must be a symbol or a ^pattern$');
      else if (entry.startsWith('^') && entry.endsWith('$')) {
        const re = compileFullMatch(entry);
        if (typeof re === 'string') fail(`symbols.${name}`, entry, re);
        else if (exchange !== undefined) map.patterns.push({ re, exchange });
      } else if (map.exact.has(entry) && map.exact.get(entry) !== exchange) {
        fail(`symbols.${name}`, entry, 'is mapped to two exchanges');
      } else if (exchange !== undefined) map.exact.set(entry, exchange);
    }
  }
  return ok ? map : undefined;
}

function hoursText(raw: Record<string, unknown>, rules: SessionRules): string {
  return `${String(raw.open)}–${String(raw.close)} ${rules.timezone}`;
}

class TradingHoursCheck implements BatchCheck {
  readonly kind = 'batch';
  readonly #meta: CheckMeta;
  readonly #exchanges: readonly Exchange[];
  readonly #calendars: readonly SessionCalendar[];
  readonly #symbols: SymbolMap;
  /** Exchange index (or -1) per symbol id of the batch. */
  readonly #exchangeOfId = new IdCache('symbol');

  constructor(meta: CheckMeta, exchanges: readonly Exchange[], symbols: SymbolMap) {
    this.#meta = meta;
    this.#exchanges = exchanges;
    this.#calendars = exchanges.map((e) => new SessionCalendar(e.rules));
    this.#symbols = symbols;
  }

  run(b: Batch, out: Uint8Array): void {
    const ids = b.ids('symbol');
    const ts = b.num('ts');
    const calendars = this.#calendars;
    const exchangeOfId = this.#exchangeOfId;
    exchangeOfId.sync(b);
    for (let i = 0, n = b.size; i < n; i++) {
      const id = ids[i]!;
      let ex = id < 0 ? -1 : exchangeOfId.get(id);
      if (ex === UNKNOWN) {
        ex = this.#exchangeOf(b.stringOf('symbol', id));
        exchangeOfId.set(id, ex);
      }
      out[i] = ex < 0 ? SKIP : calendars[ex]!.isOpen(ts[i]!) ? PASS : FAIL;
    }
  }

  explain(b: Batch, i: number): RowFailure {
    const t = b.ticks[i]!;
    const ex = this.#exchanges[this.#exchangeOf(t.symbol)]!;
    const rules = ex.rules;
    const { date, weekday } = dayInfo(localDayOf(rules.timezone, t.ts));
    let threshold = ex.hours;
    if (rules.holidays.has(date)) threshold += `; ${ex.name} closed on ${date} (holiday)`;
    else if (!rules.days.has(weekday)) threshold += `; ${ex.name} closed on ${date} (${weekday})`;
    else {
      const early = rules.earlyCloses.get(date);
      if (early !== undefined) threshold += `; early close ${minutesText(early)} on ${date}`;
    }
    return failure(this.#meta, 'ts', observedValue('ts', t.ts), threshold);
  }

  /** Exchange index of a symbol, or -1 (cached per symbol id by `run`). */
  #exchangeOf(symbol: string): number {
    return this.#symbols.exact.get(symbol) ?? this.#symbols.patterns.find((p) => p.re.test(symbol))?.exchange ?? -1;
  }
}

function minutesText(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

export const tradingHours: ExpectationDef = {
  type: 'trading_hours',
  keys: ['exchanges', 'symbols'],
  parse(p) {
    const rawExchanges = p.raw('exchanges');
    const exchanges: Exchange[] = [];
    const index = new Map<string, number>();
    let ok = true;
    if (!isObject(rawExchanges) || Object.keys(rawExchanges).length === 0) {
      p.report('exchanges', rawExchanges, rawExchanges === undefined ? 'is required: a mapping of exchange name to its session' : 'must map exchange names to sessions');
      ok = false;
    } else {
      Object.entries(rawExchanges).forEach(([name, raw], i) => {
        index.set(name, i);
        const rules = readExchange(p, name, raw);
        if (rules === undefined) ok = false;
        else exchanges[i] = { name, rules, hours: hoursText(raw as Record<string, unknown>, rules) };
      });
    }
    const symbols = readSymbols(p, p.raw('symbols'), index);
    if (!ok || symbols === undefined) return undefined;
    p.effective.exchanges = rawExchanges;
    p.effective.symbols = p.raw('symbols');
    return (meta) => new TradingHoursCheck(meta, exchanges, symbols);
  },
};
