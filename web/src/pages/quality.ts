/**
 * Quality: the recent validation runs (verdict, row counts, link to each run's HTML report) and the
 * quarantine browser (filter by symbol, expectation and run; each row with the failed expectation, the
 * observed value and the threshold). Runs refresh every 15 s while the page is open.
 */
import { disposeAll, type App, type Page } from '../app.ts';
import { badge, errorText, panel } from '../components.ts';
import { clear, h, messageRow, setText, table, td } from '../dom.ts';
import { formatInt, formatPrice, formatUtc } from '../format.ts';

const RUNS_LIMIT = 20;
const QUARANTINE_LIMIT = 100;
const REFRESH_MS = 15_000;

interface Run {
  id: string;
  kind: string;
  status: string;
  verdict: string;
  suite: string;
  suite_version: string;
  started_at: string;
  ended_at: string | null;
  rows: { evaluated: number; passed: number; failed: number; warned: number };
  report_url: string;
}

interface QuarantineRow {
  symbol: string;
  ts: string;
  price: number;
  expectation: string;
  observed: unknown;
  threshold: unknown;
  detail: unknown;
  run_id: string;
  released_by: string | null;
}

export function qualityPage(app: App): Page {
  const cleanup: (() => void)[] = [];

  // Runs
  const runs = table(
    [
      'Run',
      'Kind',
      'Verdict',
      'Suite',
      'Started (UTC)',
      { label: 'Evaluated', className: 'num' },
      { label: 'Passed', className: 'num' },
      { label: 'Failed', className: 'num' },
      { label: 'Warned', className: 'num' },
      '',
    ],
    { 'data-testid': 'runs-table' },
  );
  runs.body.append(messageRow(10, 'Loading runs…'));
  const refresh = h('button', { type: 'button', class: 'button-quiet', onclick: () => void loadRuns() }, 'Refresh');

  // Quarantine filters
  const symbolIn = h('input', { type: 'text', name: 'symbol', placeholder: 'any', 'data-testid': 'filter-symbol', autocomplete: 'off', spellcheck: 'false' });
  const expectationIn = h('input', { type: 'text', name: 'expectation', placeholder: 'any', 'data-testid': 'filter-expectation', autocomplete: 'off', spellcheck: 'false' });
  const runSelect = h('select', { name: 'run', 'data-testid': 'filter-run' }, h('option', { value: '' }, 'any run'));
  const quarantine = table(
    ['Symbol', 'Event time (UTC)', { label: 'Price', className: 'num' }, 'Expectation', 'Observed', 'Threshold', 'Detail', 'Run', 'Released'],
    { 'data-testid': 'quarantine-table' },
  );
  const qStatus = h('p', { class: 'muted small', role: 'status' }, '');
  const filters = h(
    'form',
    { class: 'filters', 'data-testid': 'quarantine-filters', onsubmit: (e: Event) => {
        e.preventDefault();
        void loadQuarantine();
      },
    },
    field('Symbol', symbolIn),
    field('Expectation', expectationIn),
    field('Run', runSelect),
    h('button', { type: 'submit', class: 'button-primary' }, 'Apply'),
    h('button', { type: 'button', class: 'button-quiet', onclick: () => resetFilters() }, 'Clear'),
  );

  const root = h(
    'div',
    { class: 'page page-quality' },
    panel('Validation runs', h('div', { class: 'table-wrap' }, runs.table), refresh, 'runs-panel'),
    panel('Quarantine', h('div', null, filters, qStatus, h('div', { class: 'table-wrap table-scroll' }, quarantine.table)), undefined, 'quarantine-panel'),
  );

  const loadRuns = async (): Promise<void> => {
    try {
      const res = await app.api.get<{ runs?: Run[] }>('/v1/quality/runs', { limit: RUNS_LIMIT });
      renderRuns(res.runs ?? []);
    } catch (err) {
      runs.body.replaceChildren(messageRow(10, `Could not load the runs: ${errorText(err)}`, 'error'));
    }
  };

  const renderRuns = (list: Run[]): void => {
    if (list.length === 0) {
      runs.body.replaceChildren(messageRow(10, 'No validation runs yet.'));
    } else {
      runs.body.replaceChildren(...list.map((r) => runRow(r, (id) => filterByRun(id))));
    }
    // Keep the run filter's choices in step, keeping the current choice.
    const current = runSelect.value;
    clear(runSelect);
    runSelect.append(h('option', { value: '' }, 'any run'));
    for (const r of list) runSelect.append(h('option', { value: r.id }, `${r.id} (${r.kind}, ${r.verdict})`));
    if (current !== '' && !list.some((r) => r.id === current)) runSelect.append(h('option', { value: current }, current));
    runSelect.value = current;
  };

  const loadQuarantine = async (): Promise<void> => {
    setText(qStatus, 'Loading…');
    const query = {
      limit: QUARANTINE_LIMIT,
      symbol: symbolIn.value.trim().toUpperCase(),
      expectation: expectationIn.value.trim(),
      run: runSelect.value,
    };
    try {
      const res = await app.api.get<{ rows?: QuarantineRow[]; truncated?: boolean; from?: string; to?: string }>('/v1/quarantine', query);
      const rows = res.rows ?? [];
      quarantine.body.replaceChildren(
        ...(rows.length === 0 ? [messageRow(9, 'No quarantined rows match.')] : rows.map((r) => quarantineRow(r, (id) => filterByRun(id)))),
      );
      const span = res.from && res.to ? ` between ${formatUtc(res.from, false)} and ${formatUtc(res.to, false)} UTC` : '';
      setText(
        qStatus,
        res.truncated
          ? `Showing the first ${formatInt(rows.length)} rows${span}; narrow the filters to see the rest.`
          : `${formatInt(rows.length)} row${rows.length === 1 ? '' : 's'}${span}.`,
      );
    } catch (err) {
      quarantine.body.replaceChildren();
      setText(qStatus, `Could not load the quarantine: ${errorText(err)}`);
    }
  };

  const filterByRun = (id: string): void => {
    if (![...runSelect.options].some((o) => o.value === id)) runSelect.append(h('option', { value: id }, id));
    runSelect.value = id;
    void loadQuarantine();
  };

  const resetFilters = (): void => {
    symbolIn.value = '';
    expectationIn.value = '';
    runSelect.value = '';
    void loadQuarantine();
  };

  void loadRuns();
  void loadQuarantine();
  const timer = setInterval(() => void loadRuns(), REFRESH_MS);
  cleanup.push(() => clearInterval(timer));
  return { root, title: 'Quality', dispose: () => disposeAll(cleanup) };
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', null, label), control);
}

function runRow(r: Run, onRun: (id: string) => void): HTMLTableRowElement {
  const rows = r.rows ?? { evaluated: 0, passed: 0, failed: 0, warned: 0 };
  const verdict = r.status === 'running' ? badge(`${r.verdict} · running`, 'info') : badge(r.verdict, r.verdict === 'PASS' ? 'ok' : 'bad');
  return h(
    'tr',
    { 'data-run': r.id },
    h('td', { class: 'mono' }, h('button', { type: 'button', class: 'link', title: 'Show this run’s quarantined rows', onclick: () => onRun(r.id) }, r.id)),
    td(r.kind),
    h('td', null, verdict),
    td(`${r.suite} ${r.suite_version}`, 'muted'),
    td(formatUtc(r.started_at, false), 'mono muted'),
    td(formatInt(rows.evaluated), 'num'),
    td(formatInt(rows.passed), 'num'),
    td(formatInt(rows.failed), rows.failed > 0 ? 'num down' : 'num'),
    td(formatInt(rows.warned), rows.warned > 0 ? 'num warn' : 'num'),
    h('td', null, h('a', { href: r.report_url, target: '_blank', rel: 'noopener' }, 'Report')),
  );
}

function quarantineRow(r: QuarantineRow, onRun: (id: string) => void): HTMLTableRowElement {
  return h(
    'tr',
    null,
    td(r.symbol, 'symbol'),
    td(formatUtc(r.ts), 'mono muted'),
    td(formatPrice(r.price), 'num'),
    h('td', null, badge(r.expectation, 'warn')),
    td(show(r.observed), 'mono'),
    td(show(r.threshold), 'mono muted'),
    td(show(r.detail), 'detail'),
    h('td', { class: 'mono' }, h('button', { type: 'button', class: 'link', onclick: () => onRun(r.run_id) }, r.run_id)),
    td(r.released_by ?? '', 'muted'),
  );
}

/** A cell value of any JSON type, as text. */
function show(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}
