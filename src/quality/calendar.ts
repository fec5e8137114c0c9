import type { Micros } from '../core/time.ts';

/**
 * Exchange sessions in local time, turned into UTC µs intervals. Converting a local wall time to UTC
 * needs the zone's offset (DST), which only `Intl` knows and which is slow to ask; so the intervals are
 * computed once per (exchange, UTC day) and cached, and a row costs a division and two comparisons.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface SessionRules {
  timezone: string;
  /** Minutes after local midnight; `close` may be 1440 (24:00). open < close. */
  open: number;
  close: number;
  days: ReadonlySet<Weekday>;
  /** Local dates `YYYY-MM-DD` without a session. */
  holidays: ReadonlySet<string>;
  /** Local dates with an earlier close, in minutes after midnight. */
  earlyCloses: ReadonlyMap<string, number>;
}

const DAY_MS = 86_400_000;
const DAY_US = 86_400_000_000;
/** UTC days kept per calendar; a replay over years of data recomputes, it does not grow without bound. */
const MAX_CACHED_DAYS = 4096;
const NO_SESSIONS = new Float64Array(0);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when `Intl` knows the IANA zone name. */
export function isTimezone(name: string): boolean {
  try {
    formatterOf(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at an instant, in ms (local = utc + offset). */
export function offsetMs(timezone: string, utcMs: number): number {
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const part of formatterOf(timezone).formatToParts(utcMs)) {
    const v = Number(part.value);
    switch (part.type) {
      case 'year': y = v; break;
      case 'month': mo = v; break;
      case 'day': d = v; break;
      case 'hour': h = v; break;
      case 'minute': mi = v; break;
      case 'second': s = v; break;
    }
  }
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(utcMs / 1000) * 1000;
}

/**
 * The UTC instant (ms) of a local wall time; `localDay` is days since 1970-01-01 of the local date.
 * An offset is consistent when the instant it gives shows that wall time; near a DST change the first
 * guess may not be, and the offset at the guess is. A wall time skipped by a spring-forward has no
 * consistent offset and lands one hour later, as clocks do.
 */
export function localToUtcMs(timezone: string, localDay: number, minutes: number): number {
  const wall = localDay * DAY_MS + minutes * 60_000;
  const o1 = offsetMs(timezone, wall);
  const guess = wall - o1;
  const o2 = offsetMs(timezone, guess);
  if (o2 === o1) return guess;
  const other = wall - o2;
  return offsetMs(timezone, other) === o2 ? other : Math.max(guess, other);
}

/** `YYYY-MM-DD` and weekday of a day number. */
export function dayInfo(day: number): { date: string; weekday: Weekday } {
  const d = new Date(day * DAY_MS);
  return { date: d.toISOString().slice(0, 10), weekday: WEEKDAYS[d.getUTCDay()]! };
}

/** The local day number (days since 1970-01-01 in local dates) of a UTC instant. */
export function localDayOf(timezone: string, utcUs: Micros): number {
  const ms = Math.floor(utcUs / 1000);
  return Math.floor((ms + offsetMs(timezone, ms)) / DAY_MS);
}

/** The session of one local day as [open, close) UTC µs, or null when the exchange is closed that day. */
export function sessionOf(rules: SessionRules, localDay: number): [Micros, Micros] | null {
  const { date, weekday } = dayInfo(localDay);
  if (!rules.days.has(weekday) || rules.holidays.has(date)) return null;
  const close = rules.earlyCloses.get(date) ?? rules.close;
  if (close <= rules.open) return null;
  return [localToUtcMs(rules.timezone, localDay, rules.open) * 1000, localToUtcMs(rules.timezone, localDay, close) * 1000];
}

/** Answers "is this instant inside a session?" with a per-UTC-day cache of the sessions' UTC intervals. */
export class SessionCalendar {
  readonly rules: SessionRules;
  readonly #byDay = new Map<number, Float64Array>();
  #lastDay = NaN;
  #lastSessions: Float64Array = NO_SESSIONS;

  constructor(rules: SessionRules) {
    this.rules = rules;
  }

  /** Open time inclusive, close time exclusive. */
  isOpen(ts: Micros): boolean {
    const day = Math.floor(ts / DAY_US);
    if (day !== this.#lastDay) {
      this.#lastSessions = this.#sessionsOn(day);
      this.#lastDay = day;
    }
    const s = this.#lastSessions;
    for (let i = 0; i < s.length; i += 2) if (ts >= s[i]! && ts < s[i + 1]!) return true;
    return false;
  }

  /** Sessions overlapping one UTC day, as flat [open, close, ...] pairs in UTC µs. */
  #sessionsOn(utcDay: number): Float64Array {
    let s = this.#byDay.get(utcDay);
    if (s !== undefined) return s;
    const from = utcDay * DAY_US;
    const to = from + DAY_US;
    const pairs: number[] = [];
    // Offsets are within ±14 h, so only the local dates either side of the UTC date can overlap it.
    for (let local = utcDay - 1; local <= utcDay + 1; local++) {
      const session = sessionOf(this.rules, local);
      if (session !== null && session[0] < to && session[1] > from) pairs.push(session[0], session[1]);
    }
    s = pairs.length === 0 ? NO_SESSIONS : Float64Array.from(pairs);
    if (this.#byDay.size >= MAX_CACHED_DAYS) this.#byDay.clear();
    this.#byDay.set(utcDay, s);
    return s;
  }
}
