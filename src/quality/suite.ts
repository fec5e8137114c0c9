import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { TicklineError } from '../core/errors.ts';
import type { Action, Check, CheckMeta } from './definition.ts';
import { ParamReader, showParam } from './params.ts';
import { EXPECTATION_TYPES } from './registry.ts';

/**
 * An expectation suite: a named, versioned list of expectations, read from a YAML or JSON file
 * (docs/quality.md is the file reference). Suites are immutable once parsed.
 */
export interface Suite {
  name: string;
  /** Recorded with every verdict; integers in the file become their decimal text. */
  version: string;
  /** The file it was read from (absolute for `loadSuite`), or null for a suite built in code. */
  file: string | null;
  expectations: readonly ExpectationSpec[];
}

export interface ExpectationSpec {
  /** Unique in the suite. */
  name: string;
  type: string;
  /** The `column` parameter, for the types that have one; null otherwise. */
  column: string | null;
  /** (0, 1]: the fraction of evaluated rows that must pass for the expectation to succeed. */
  mostly: number;
  action: Action;
  /** The other parameters as effective values: defaults filled in, file notation (durations as "10m"). */
  params: Readonly<Record<string, unknown>>;
}

/** One problem found in a suite: which file, expectation and parameter, the bad value, and why. */
export interface SuiteProblem {
  file: string;
  /** `"name" (expectations[i])`, `expectations[i]` when it has no usable name, or null for the suite. */
  expectation: string | null;
  parameter: string | null;
  /** The bad value; absent when the parameter is missing. */
  value?: unknown;
  message: string;
}

/** suites/default.yaml, the suite used when none is configured. */
export const DEFAULT_SUITE_PATH: string = fileURLToPath(new URL('../../suites/default.yaml', import.meta.url));

const SUITE_KEYS = ['suite', 'version', 'expectations'];
const COMMON_KEYS = ['name', 'type', 'mostly', 'action'];
const SUITE_NAME_RE = /^[a-z0-9_-]+$/;
const EXPECTATION_NAME_RE = /^[a-z0-9_]+$/;
const ACTIONS: readonly Action[] = ['quarantine', 'warn'];

/** Reads a suite file. `path` defaults to the shipped default suite. Throws TL_ERR_SUITE. */
export function loadSuite(path?: string): Suite {
  const file = resolve(path ?? DEFAULT_SUITE_PATH);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw suiteError(file, [{ file, expectation: null, parameter: null, message: `cannot read the suite file: ${reason}` }]);
  }
  return parseSuite(text, file);
}

/**
 * Parses and validates a suite; the format follows the extension of `file` (.yaml, .yml or .json),
 * which also names the suite in errors. Throws one TL_ERR_SUITE listing every problem found.
 */
export function parseSuite(text: string, file: string): Suite {
  const problems: SuiteProblem[] = [];
  const doc = readDocument(text, file, problems);
  if (doc === undefined) throw suiteError(file, problems);
  const top = (parameter: string | null, value: unknown, message: string) => {
    problems.push(problem(file, null, parameter, value, message));
  };
  if (!isObject(doc)) {
    top(null, doc, 'the document must be a mapping with suite, version and expectations');
    throw suiteError(file, problems);
  }
  for (const key of Object.keys(doc)) if (!SUITE_KEYS.includes(key)) top(key, doc[key], `unknown key; allowed: ${SUITE_KEYS.join(', ')}`);
  const name = doc.suite;
  if (name == null) top('suite', undefined, 'is required: the suite name, [a-z0-9_-]+');
  else if (typeof name !== 'string' || !SUITE_NAME_RE.test(name)) top('suite', name, 'must match [a-z0-9_-]+');
  const version = doc.version;
  const versionText = typeof version === 'number' && Number.isSafeInteger(version) ? String(version) : typeof version === 'string' && version.trim() !== '' ? version : undefined;
  if (version == null) top('version', undefined, 'is required: an integer or a string');
  else if (versionText === undefined) top('version', version, 'must be an integer or a non-empty string');
  let expectations: ExpectationSpec[] = [];
  if (doc.expectations == null) top('expectations', undefined, 'is required: a list of expectations');
  else if (!Array.isArray(doc.expectations)) top('expectations', doc.expectations, 'must be a list of expectations');
  else expectations = readExpectations(doc.expectations as unknown[], file, problems).specs;
  if (problems.length > 0) throw suiteError(file, problems);
  return Object.freeze({ name: name as string, version: versionText!, file, expectations: Object.freeze(expectations) });
}

/**
 * A fresh check factory per expectation of a suite, in suite order, for the gate. Suites built in code
 * (not parsed) are validated here with the same rules; throws TL_ERR_SUITE.
 */
export function checkFactories(suite: Suite): Array<(meta: CheckMeta) => Check> {
  const file = suite.file ?? `suite ${JSON.stringify(suite.name)}`;
  const problems: SuiteProblem[] = [];
  const raws = suite.expectations.map((s) => ({
    name: s.name, type: s.type, mostly: s.mostly, action: s.action, ...(s.column === null ? {} : { column: s.column }), ...s.params,
  }));
  const { factories } = readExpectations(raws, file, problems);
  if (problems.length > 0) throw suiteError(file, problems);
  return factories as Array<(meta: CheckMeta) => Check>;
}

/** The error for a list of problems: a headline naming the file, then one problem per line. */
export function suiteError(file: string, problems: readonly SuiteProblem[]): TicklineError {
  const n = problems.length;
  const lines = problems.map((p) => `  ${problemLine(p)}`);
  return new TicklineError('TL_ERR_SUITE', `invalid expectation suite ${file}: ${n} problem${n === 1 ? '' : 's'}\n${lines.join('\n')}`, {
    details: problems,
  });
}

/** One problem as a line: `file: expectation …: parameter … = value: message`. */
export function problemLine(p: SuiteProblem): string {
  const parts = [p.file];
  if (p.expectation !== null) parts.push(`expectation ${p.expectation}`);
  if (p.parameter !== null) parts.push(`parameter ${p.parameter} = ${showParam(p.value)}`);
  return `${parts.join(': ')}: ${p.message}`;
}

function problem(file: string, expectation: string | null, parameter: string | null, value: unknown, message: string): SuiteProblem {
  const p: SuiteProblem = { file, expectation, parameter, message };
  if (value !== undefined) p.value = value;
  return p;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parsed document, or undefined after reporting why it cannot be read. */
function readDocument(text: string, file: string, problems: SuiteProblem[]): unknown {
  const ext = extname(file).toLowerCase();
  const fail = (message: string) => {
    problems.push(problem(file, null, null, undefined, message));
    return undefined;
  };
  if (ext === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      return fail(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (ext !== '.yaml' && ext !== '.yml') return fail(`unsupported suite file type ${JSON.stringify(ext)}: use .yaml, .yml or .json`);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // prettyErrors appends a source excerpt on further lines; the first line has the message and position.
    for (const e of doc.errors) fail(`not valid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`);
    return undefined;
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}

/** How an expectation is named in problems, before its parameters are known to be valid. */
function labelOf(raw: unknown, index: number, names: ReadonlyArray<string | undefined>): string {
  const name = names[index];
  return name === undefined ? `expectations[${index}]${isObject(raw) && typeof raw.type === 'string' ? ` (type ${raw.type})` : ''}` : `${JSON.stringify(name)} (expectations[${index}])`;
}

/**
 * Validates a list of raw expectations, reporting every problem; returns their specs and check factories
 * (a factory is undefined where the expectation was invalid).
 */
function readExpectations(
  raws: readonly unknown[],
  file: string,
  problems: SuiteProblem[],
): { specs: ExpectationSpec[]; factories: Array<((meta: CheckMeta) => Check) | undefined> } {
  const names = defaultNames(raws);
  const specs: ExpectationSpec[] = [];
  const factories: Array<((meta: CheckMeta) => Check) | undefined> = [];
  const firstIndexOf = new Map<string, number>();
  raws.forEach((raw, i) => {
    const label = labelOf(raw, i, names);
    const report = (parameter: string | null, value: unknown, message: string) => {
      problems.push(problem(file, label, parameter, value, message));
    };
    if (!isObject(raw)) {
      report(null, raw, 'must be a mapping with at least a type');
      factories.push(undefined);
      return;
    }
    const name = readName(raw, names[i], report);
    if (name !== undefined) {
      const first = firstIndexOf.get(name);
      if (first !== undefined) report('name', name, `is already used by expectations[${first}]`);
      else firstIndexOf.set(name, i);
    }
    const mostly = raw.mostly ?? 1;
    if (typeof mostly !== 'number' || !(mostly > 0 && mostly <= 1)) report('mostly', mostly, 'must be a number in (0, 1]');
    const action = raw.action ?? 'quarantine';
    if (!ACTIONS.includes(action as Action)) report('action', action, `must be one of ${ACTIONS.join(', ')}`);
    const def = typeof raw.type === 'string' ? EXPECTATION_TYPES.get(raw.type) : undefined;
    if (def === undefined) {
      if (raw.type == null) report('type', undefined, `is required: one of ${[...EXPECTATION_TYPES.keys()].join(', ')}`);
      else report('type', raw.type, `unknown expectation type; known: ${[...EXPECTATION_TYPES.keys()].join(', ')}`);
      factories.push(undefined);
      return;
    }
    const reader = new ParamReader(raw, report);
    const factory = def.parse(reader);
    reader.finish([...COMMON_KEYS, ...def.keys]);
    factories.push(factory);
    if (factory === undefined || name === undefined) return;
    const { column, ...params } = reader.effective;
    specs.push(Object.freeze({
      name,
      type: def.type,
      column: def.keys.includes('column') ? (column as string) : null,
      mostly: mostly as number,
      action: action as Action,
      params: Object.freeze(params),
    }));
  });
  return { specs, factories };
}

/** Names given in the file, or the type for an unnamed expectation of a known type that appears once. */
function defaultNames(raws: readonly unknown[]): Array<string | undefined> {
  const typeCount = new Map<unknown, number>();
  for (const r of raws) if (isObject(r)) typeCount.set(r.type, (typeCount.get(r.type) ?? 0) + 1);
  return raws.map((r) => {
    if (!isObject(r)) return undefined;
    if (typeof r.name === 'string' && EXPECTATION_NAME_RE.test(r.name)) return r.name;
    if (r.name == null && typeof r.type === 'string' && EXPECTATION_TYPES.has(r.type) && typeCount.get(r.type) === 1) return r.type;
    return undefined;
  });
}

function readName(
  raw: Record<string, unknown>,
  resolved: string | undefined,
  report: (parameter: string | null, value: unknown, message: string) => void,
): string | undefined {
  if (resolved !== undefined) return resolved;
  if (raw.name != null) report('name', raw.name, 'must match [a-z0-9_]+');
  // Without a name, a known type can only have failed to serve as the default name by being repeated.
  else if (typeof raw.type === 'string' && EXPECTATION_TYPES.has(raw.type)) {
    report('name', undefined, `is required: type ${raw.type} is used more than once in the suite`);
  }
  return undefined;
}
