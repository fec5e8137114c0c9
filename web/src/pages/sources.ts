/**
 * Sources: each source with its state, rate and last error; loaded from `GET /v1/sources`, then kept
 * current by the stream's `stats` events (once a second), updating the rows in place.
 */
import { disposeAll, type App, type Page } from '../app.ts';
import { errorText, panel } from '../components.ts';
import { h, messageRow, setText, table, td } from '../dom.ts';
import { formatInt, formatNumber } from '../format.ts';
import { parseSource, type SourceStat } from '../live-protocol.ts';

interface SourceRow {
  tr: HTMLTableRowElement;
  state: HTMLElement;
  rate: HTMLTableCellElement;
  emitted: HTMLTableCellElement;
  error: HTMLTableCellElement;
}

/** healthy: running without error; failing: an error is reported; stopped: not running. */
export function sourceHealth(s: SourceStat): 'healthy' | 'failing' | 'stopped' {
  if (s.last_error !== null) return 'failing';
  return s.running ? 'healthy' : 'stopped';
}

export function sourcesPage(app: App): Page {
  const cleanup: (() => void)[] = [];
  const rows = new Map<string, SourceRow>();
  const { table: t, body } = table(
    ['Source', 'State', { label: 'Rate (ticks/s)', className: 'num' }, { label: 'Emitted', className: 'num' }, 'Last error'],
    { 'data-testid': 'sources-table' },
  );
  const placeholder = messageRow(5, 'Loading sources…');
  body.append(placeholder);
  const root = h('div', { class: 'page page-sources' }, panel('Sources', h('div', { class: 'table-wrap' }, t), undefined, 'sources-panel'));

  const render = (list: readonly SourceStat[]): void => {
    for (const s of list) {
      let row = rows.get(s.name);
      if (row === undefined) {
        row = createRow(s.name);
        rows.set(s.name, row);
        body.append(row.tr);
        placeholder.remove();
      }
      const health = sourceHealth(s);
      setText(row.state, health);
      row.state.className = `badge badge-${health === 'healthy' ? 'ok' : health === 'failing' ? 'bad' : 'muted'}`;
      setText(row.rate, formatNumber(s.rate));
      setText(row.emitted, formatInt(s.emitted));
      setText(row.error, s.last_error ?? '');
    }
  };

  const renderStats = (): void => {
    if (app.market.stats !== null) render(app.market.stats.sources);
  };

  const load = async (): Promise<void> => {
    try {
      const res = await app.api.get<{ sources?: unknown[] }>('/v1/sources');
      const list: SourceStat[] = [];
      for (const s of res.sources ?? []) {
        const parsed = parseSource(s);
        if (parsed !== null) list.push(parsed);
      }
      if (list.length === 0 && rows.size === 0) setText(placeholder.firstChild!, 'No source runs in this process.');
      render(list);
    } catch (err) {
      if (rows.size === 0) setText(placeholder.firstChild!, `Could not list the sources: ${errorText(err)}`);
    }
  };

  cleanup.push(
    app.market.onStats(() => app.frame.schedule(renderStats)),
    () => app.frame.cancel(renderStats),
  );
  void load();
  renderStats();
  return { root, title: 'Sources', dispose: () => disposeAll(cleanup) };
}

function createRow(name: string): SourceRow {
  const state = h('span', { class: 'badge badge-muted' }, '—');
  const row: SourceRow = { tr: h('tr', { 'data-testid': `source-${name}` }), state, rate: td('—', 'num'), emitted: td('—', 'num'), error: td('', 'error-text') };
  row.tr.append(td(name, 'symbol'), h('td', null, state), row.rate, row.emitted, row.error);
  return row;
}
