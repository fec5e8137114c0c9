import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SYMBOL_RE } from '../config/schema.ts';
import { TicklineError } from '../core/errors.ts';
import { DEFAULT_SUITE_PATH, loadSuite, parseSuite, type SuiteProblem } from './suite.ts';

const FILE = 'suites/test.yaml';

/** Parses a suite made of `expectations` (YAML list items) and returns its error. */
function errorOf(text: string, file = FILE): TicklineError {
  try {
    parseSuite(text, file);
  } catch (e) {
    assert.ok(e instanceof TicklineError, String(e));
    assert.equal(e.code, 'TL_ERR_SUITE');
    assert.equal(e.status, 500);
    return e;
  }
  assert.fail('the suite was accepted');
}

function withExpectations(items: string): string {
  return `suite: t\nversion: 1\nexpectations:\n${items}`;
}

/** The single problem of a suite with one bad expectation. */
function problemOf(items: string): { line: string; problem: SuiteProblem } {
  const e = errorOf(withExpectations(items));
  const problems = e.details as SuiteProblem[];
  assert.equal(problems.length, 1, e.message);
  const lines = e.message.split('\n');
  assert.equal(lines.length, 2, e.message);
  return { line: lines[1]!.trim(), problem: problems[0]! };
}

describe('parseSuite', () => {
  test('reads names, versions, defaults and effective parameters', () => {
    const s = parseSuite(
      withExpectations(`
  - type: between
    column: price
    min: 0
  - name: fresh
    type: freshness
    max_future: 5s
    mostly: 0.5
    action: warn
`),
      FILE,
    );
    assert.equal(s.name, 't');
    assert.equal(s.version, '1');
    assert.equal(s.file, FILE);
    assert.deepEqual(s.expectations, [
      { name: 'between', type: 'between', column: 'price', mostly: 1, action: 'quarantine', params: { min: 0, strict_min: false, strict_max: false } },
      { name: 'fresh', type: 'freshness', column: null, mostly: 0.5, action: 'warn', params: { max_future: '5s' } },
    ]);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.expectations) && Object.isFrozen(s.expectations[0]!.params));
  });

  test('JSON suites, and string versions', () => {
    const s = parseSuite(JSON.stringify({ suite: 'j', version: '2026.1', expectations: [{ type: 'not_null', column: 'symbol' }] }), 'x.json');
    assert.equal(s.version, '2026.1');
    assert.equal(s.expectations[0]!.name, 'not_null');
  });

  test('an empty list of expectations is a valid (permissive) suite', () => {
    assert.equal(parseSuite('suite: none\nversion: 1\nexpectations: []\n', FILE).expectations.length, 0);
  });
});

describe('suite errors name the file, the expectation and the parameter with its value', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown type', '  - type: between_values\n    column: price\n', /expectation expectations\[0\] \(type between_values\): parameter type = "between_values": unknown expectation type; known: not_null, between/],
    ['missing type', '  - name: x\n    column: price\n', /expectation "x" \(expectations\[0\]\): parameter type = \(missing\): is required/],
    ['unknown parameter', '  - type: not_null\n    column: price\n    colum: size\n', /expectation "not_null" \(expectations\[0\]\): parameter colum = "size": unknown parameter; allowed: name, type, mostly, action, column/],
    ['missing parameter', '  - type: not_null\n', /expectation "not_null" \(expectations\[0\]\): parameter column = \(missing\): is required/],
    ['wrong-typed parameter', '  - type: between\n    column: price\n    min: zero\n', /expectation "between" \(expectations\[0\]\): parameter min = "zero": must be a number/],
    ['unknown column', '  - type: not_null\n    column: volume\n', /parameter column = "volume": unknown column; columns are symbol, ts, price/],
    ['column of the wrong kind', '  - type: between\n    column: symbol\n    min: 0\n', /parameter column = "symbol": is a string column; this expectation needs a number or timestamp column/],
    ['no bound', '  - type: between\n    column: price\n', /parameter min = \(missing\): is required unless max is given/],
    ['min above max', '  - type: between\n    column: price\n    min: 5\n    max: 1\n', /parameter min = 5: leaves no value: it is above max 1/],
    ['bad timestamp bound', '  - type: between\n    column: ts\n    min: yesterday\n', /parameter min = "yesterday": must be an ISO 8601 date-time/],
    ['bad regex', "  - type: matches_regex\n    column: symbol\n    regex: '[A-Z'\n", /parameter regex = "\[A-Z": is not a valid regular expression/],
    ['bad duration', '  - type: unique\n    columns: [symbol]\n    window: 10 minutes\n', /parameter window = "10 minutes": must be a duration such as 500ms, 5s, 10m, 2h or 1d/],
    ['zero window', '  - type: unique\n    columns: [symbol]\n    window: 0s\n', /parameter window = "0s": must be longer than zero/],
    ['duplicate key column', '  - type: unique\n    columns: [symbol, symbol]\n    window: 1m\n', /parameter columns = "symbol": names the same column twice/],
    ['bad timezone', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/Nowhere, open: "09:30", close: "16:00" }\n    symbols: { XNYS: [AAPL] }\n', /parameter exchanges\.XNYS\.timezone = "America\/Nowhere": must be an IANA time zone/],
    ['bad session time', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/New_York, open: "9h30", close: "16:00" }\n    symbols: { XNYS: [AAPL] }\n', /parameter exchanges\.XNYS\.open = "9h30": must be a local time "HH:MM"/],
    ['close before open', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/New_York, open: "16:00", close: "09:30" }\n    symbols: { XNYS: [AAPL] }\n', /parameter exchanges\.XNYS\.close = "09:30": must be after open/],
    ['bad holiday', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/New_York, open: "09:30", close: "16:00", holidays: ["2026-02-30"] }\n    symbols: { XNYS: [AAPL] }\n', /parameter exchanges\.XNYS\.holidays = "2026-02-30": is not a date/],
    ['bad weekday', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/New_York, open: "09:30", close: "16:00", days: [monday] }\n    symbols: { XNYS: [AAPL] }\n', /parameter exchanges\.XNYS\.days = "monday": is not a weekday/],
    ['undefined exchange', '  - type: trading_hours\n    exchanges:\n      XNYS: { timezone: America/New_York, open: "09:30", close: "16:00" }\n    symbols: { XNAS: [AAPL] }\n', /parameter symbols = "XNAS": names an exchange not defined under exchanges \(XNYS\)/],
    ['mostly out of range', '  - type: not_null\n    column: price\n    mostly: 1.5\n', /parameter mostly = 1\.5: must be a number in \(0, 1\]/],
    ['mostly zero', '  - type: not_null\n    column: price\n    mostly: 0\n', /parameter mostly = 0: must be a number in \(0, 1\]/],
    ['bad action', '  - type: not_null\n    column: price\n    action: drop\n', /parameter action = "drop": must be one of quarantine, warn/],
    ['bad name', '  - name: Price-Check\n    type: not_null\n    column: price\n', /expectation expectations\[0\] \(type not_null\): parameter name = "Price-Check": must match \[a-z0-9_\]\+/],
    ['in_set values of the wrong type', '  - type: in_set\n    column: currency\n    values: [USD, 1]\n', /parameter values = 1: is not a string \(currency is a string column\)/],
    ['min_samples above lookback', '  - type: max_change\n    column: price\n    max_stddev: 3\n    lookback: 10\n    min_samples: 20\n', /parameter min_samples = 20: must be ≤ lookback \(10\)/],
    ['no change limit', '  - type: max_change\n    column: price\n', /parameter max_pct = \(missing\): is required unless max_stddev is given/],
  ];
  for (const [what, items, re] of cases) {
    test(what, () => {
      const { line, problem } = problemOf(items);
      assert.ok(line.startsWith(`${FILE}: expectation `), line);
      assert.match(line, re);
      assert.equal(problem.file, FILE);
      assert.ok(problem.expectation !== null && problem.parameter !== null);
    });
  }

  test('duplicate names, and a repeated type without names', () => {
    const e = errorOf(withExpectations(`
  - name: p
    type: not_null
    column: price
  - name: p
    type: not_null
    column: symbol
  - type: between
    column: price
    min: 0
  - type: between
    column: size
    min: 0
`));
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(lines, [
      `${FILE}: expectation "p" (expectations[1]): parameter name = "p": is already used by expectations[0]`,
      `${FILE}: expectation expectations[2] (type between): parameter name = (missing): is required: type between is used more than once in the suite`,
      `${FILE}: expectation expectations[3] (type between): parameter name = (missing): is required: type between is used more than once in the suite`,
    ]);
  });

  test('suite-level problems', () => {
    const e = errorOf('suite: Bad Name\nversion: 1.5\nexpectations: {}\nowner: me\n');
    assert.deepEqual(e.message.split('\n').slice(1).map((l) => l.trim()), [
      `${FILE}: parameter owner = "me": unknown key; allowed: suite, version, expectations`,
      `${FILE}: parameter suite = "Bad Name": must match [a-z0-9_-]+`,
      `${FILE}: parameter version = 1.5: must be an integer or a non-empty string`,
      `${FILE}: parameter expectations = {}: must be a list of expectations`,
    ]);
    assert.match(errorOf('expectations: []\n').message, /parameter suite = \(missing\): is required[\s\S]*parameter version = \(missing\): is required/);
  });

  test('all problems of a file are reported together, one per line', () => {
    const e = errorOf(withExpectations(`
  - name: price_positive
    type: between
    column: price
    min: zero
  - type: matches_regex
    column: symbol
    regex: '(['
  - name: spike
    type: max_change
    column: prise
    max_pct: -5
    mostly: 2
`));
    const lines = e.message.split('\n');
    assert.equal(lines[0], `invalid expectation suite ${FILE}: 5 problems`);
    assert.deepEqual((e.details as SuiteProblem[]).map((p) => [p.expectation, p.parameter, p.value]), [
      ['"price_positive" (expectations[0])', 'min', 'zero'],
      ['"matches_regex" (expectations[1])', 'regex', '(['],
      ['"spike" (expectations[2])', 'mostly', 2],
      ['"spike" (expectations[2])', 'column', 'prise'],
      ['"spike" (expectations[2])', 'max_pct', -5],
    ]);
    assert.equal(lines.length, 6);
    for (const line of lines.slice(1)) assert.match(line, /^ {2}suites\/test\.yaml: expectation .+: parameter \w+ = .+: .+$/);
  });

  test('syntax errors and file types', () => {
    assert.match(errorOf('suite: [unclosed\n').message, /suites\/test\.yaml: not valid YAML: .+/);
    assert.match(errorOf('suite: a\nsuite: b\nversion: 1\nexpectations: []\n').message, /not valid YAML: Map keys must be unique/);
    assert.match(errorOf('{"suite": ', 'x.json').message, /x\.json: not valid JSON: /);
    assert.match(errorOf('suite: a', 'suite.txt').message, /suite\.txt: unsupported suite file type "\.txt": use \.yaml, \.yml or \.json/);
    assert.match(errorOf('- a\n- b\n').message, /the document must be a mapping/);
  });
});

describe('loadSuite and the shipped suites', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickline-suite-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the default suite loads from suites/default.yaml with the basic checks under their names', () => {
    assert.ok(isAbsolute(DEFAULT_SUITE_PATH) && DEFAULT_SUITE_PATH.endsWith('/suites/default.yaml'));
    const s = loadSuite();
    assert.equal(s.name, 'default');
    assert.equal(s.file, DEFAULT_SUITE_PATH);
    const names = s.expectations.map((e) => e.name);
    for (const n of ['symbol_format', 'price_positive', 'size_non_negative', 'bid_positive', 'ask_positive', 'bid_le_ask', 'not_in_future']) {
      assert.ok(names.includes(n), n);
    }
    const format = s.expectations.find((e) => e.name === 'symbol_format')!;
    assert.equal(format.params.regex, SYMBOL_RE.source);
    assert.deepEqual(s.expectations.find((e) => e.name === 'not_in_future')!.params, { max_future: '5s' });
    const byType = new Map(s.expectations.map((e) => [e.type, e]));
    assert.equal(byType.get('increasing')!.action, 'warn');
    assert.equal(byType.get('trading_hours')!.action, 'warn');
    assert.deepEqual(byType.get('unique')!.params.columns, ['provider', 'symbol', 'ts', 'seq']);
  });

  test('seed-001 and strict load; strict uses every expectation type', () => {
    const seed = loadSuite(new URL('../../suites/seed-001.yaml', import.meta.url).pathname);
    assert.deepEqual(seed.expectations.map((e) => [e.name, e.type, e.column]), [
      ['symbol_format', 'matches_regex', 'symbol'],
      ['price_positive', 'between', 'price'],
      ['currency_usd', 'in_set', 'currency'],
      ['symbol_not_null', 'not_null', 'symbol'],
      ['price_not_null', 'not_null', 'price'],
      ['currency_not_null', 'not_null', 'currency'],
      ['ts_not_null', 'not_null', 'ts'],
    ]);
    assert.equal(seed.expectations[0]!.params.regex, '^[A-Z.\\-]{1,10}$');
    const strict = loadSuite(new URL('../../suites/strict.yaml', import.meta.url).pathname);
    assert.deepEqual(
      new Set(strict.expectations.map((e) => e.type)),
      new Set(['not_null', 'between', 'matches_regex', 'in_set', 'unique', 'increasing', 'max_change', 'bid_le_ask', 'freshness', 'trading_hours']),
    );
  });

  test('a relative path is resolved; a missing file is a suite error naming it', () => {
    const file = join(dir, 'mine.yml');
    writeFileSync(file, 'suite: mine\nversion: 7\nexpectations:\n  - type: not_null\n    column: price\n');
    assert.equal(loadSuite(file).file, file);
    const missing = join(dir, 'nope.yaml');
    assert.throws(() => loadSuite(missing), (e: TicklineError) => {
      assert.equal(e.code, 'TL_ERR_SUITE');
      assert.match(e.message, new RegExp(`${missing}: cannot read the suite file: ENOENT`));
      return true;
    });
  });
});
