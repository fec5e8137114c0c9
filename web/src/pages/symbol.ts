/**
 * Symbol page: quote header, candlestick chart (SMA 20 overlay, volume pane) with an interval switch,
 * and the most recent ticks.
 *
 * The stream is opened with `?symbol=`, which adds `ticks` events; each tick is merged into the bars of
 * the current interval (`LiveBars`) and into the ticks table. Both render once per animation frame. Ticks
 * that arrive while bars load are kept (up to a bound) and merged once the bars are in.
 */
import { disposeAll, type App, type Page } from '../app.ts';
import { INTERVALS, LiveBars, chartBarFromApi, isInterval, type ApiBar, type ChartBar, type Interval } from '../bars.ts';
import { PriceChart } from '../chart.ts';
import { errorText, panel } from '../components.ts';
import { h, messageRow, setText, table, td } from '../dom.ts';
import { formatAge, formatPct, formatPrice, formatSize, formatUtc, priceDecimals } from '../format.ts';
import type { LiveQuote } from '../live-protocol.ts';
import { changeOf } from '../market.ts';
import { isoToMs } from '../time.ts';

const BAR_LIMIT = 500;
const TICK_ROWS = 100;
const PENDING_MAX = 5000;
const INTERVAL_KEY = 'tickline.interval';

interface HistoryTick {
  ts: string;
  price: number;
  size: number;
  bid: number | null;
  ask: number | null;
  provider: string;
}

export function symbolPage(app: App, symbol: string): Page {
  const cleanup: (() => void)[] = [];
  let interval: Interval = storedInterval();
  let bars = new LiveBars(interval, BAR_LIMIT);
  let loaded = false;
  let loadSeq = 0;
  let decimals = -1;
  /** Ticks received before the bars of the current interval were loaded. */
  let pending: LiveQuote[] = [];
  /** New ticks for the table, newest last, at most TICK_ROWS. */
  const tableQueue: LiveQuote[] = [];

  // Header
  const priceEl = h('span', { class: 'quote-price', 'data-testid': 'symbol-price' }, '—');
  const changeEl = h('span', { class: 'quote-change' }, '');
  const bidAskEl = h('span', { class: 'quote-meta' }, '');
  const ageEl = h('span', { class: 'quote-meta' }, '');
  const header = h(
    'div',
    { class: 'quote-head' },
    h('h1', { class: 'quote-symbol' }, symbol),
    priceEl,
    changeEl,
    h('span', { class: 'quote-metas' }, bidAskEl, ageEl),
  );

  // Chart with interval switch
  const buttons = new Map<Interval, HTMLButtonElement>();
  const switcher = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Bar interval' });
  for (const iv of INTERVALS) {
    const b = h('button', { type: 'button', 'data-testid': `interval-${iv}`, 'data-interval': iv, onclick: () => selectInterval(iv) }, iv);
    buttons.set(iv, b);
    switcher.append(b);
  }
  const chartBox = h('div', { class: 'chart', 'data-testid': 'chart' });
  const chartNote = h('div', { class: 'chart-note', role: 'status' }, 'Loading bars…');
  const chart = new PriceChart(chartBox);
  cleanup.push(() => chart.dispose());
  const attribution = h(
    'p',
    { class: 'attribution' },
    'Candles, SMA 20 (computed in the page) and volume; times in UTC. Charts by ',
    h('a', { href: 'https://www.tradingview.com/', target: '_blank', rel: 'noopener noreferrer' }, 'TradingView Lightweight Charts™'),
    '.',
  );

  // Recent ticks
  const { table: ticksTable, body: ticksBody } = table(
    ['Time (UTC)', { label: 'Price', className: 'num' }, { label: 'Size', className: 'num' }, { label: 'Bid', className: 'num' }, { label: 'Ask', className: 'num' }, 'Provider'],
    { 'data-testid': 'ticks-table' },
  );
  const ticksPlaceholder = messageRow(6, 'Loading ticks…');
  ticksBody.append(ticksPlaceholder);

  const root = h(
    'div',
    { class: 'page page-symbol' },
    header,
    panel('Chart', h('div', { class: 'chart-wrap' }, chartBox, chartNote), switcher, 'chart-panel'),
    attribution,
    panel(`Recent ticks`, h('div', { class: 'table-wrap table-scroll' }, ticksTable), undefined, 'ticks-panel'),
  );

  const renderHeader = (): void => {
    const q = app.market.symbols.get(symbol);
    if (q === undefined || !Number.isFinite(q.price)) return;
    ensureDecimals(q.price);
    setText(priceEl, formatPrice(q.price, decimals));
    const c = changeOf(q, Date.now());
    setText(changeEl, `${formatPct(c.pct)} ${c.basis === 'day-open' ? "since the day's open" : 'this session'}`);
    changeEl.className = `quote-change ${c.pct === null || c.pct === 0 ? 'flat' : c.pct > 0 ? 'up' : 'down'}`;
    const spread = q.bid !== null && q.ask !== null ? ` · spread ${formatPrice(q.ask - q.bid, decimals)}` : '';
    setText(bidAskEl, `bid ${formatPrice(q.bid, decimals)} · ask ${formatPrice(q.ask, decimals)}${spread}`);
    setText(ageEl, `${q.provider || '—'} · ${Number.isFinite(q.tsMs) ? `${formatAge(Date.now() - q.tsMs)} ago` : ''}`);
  };

  const ensureDecimals = (price: number): void => {
    if (decimals >= 0 || !Number.isFinite(price)) return;
    decimals = priceDecimals(price);
    chart.configure(decimals, interval);
  };

  const renderChart = (): void => {
    if (!loaded) return;
    chart.apply(bars.bars, bars.takeChanges());
    chartNote.hidden = bars.bars.length > 0;
  };

  const renderTicks = (): void => {
    if (tableQueue.length === 0) return;
    ticksPlaceholder.remove();
    const frag = document.createDocumentFragment();
    for (let i = tableQueue.length - 1; i >= 0; i--) {
      const t = tableQueue[i]!;
      const prev = tableQueue[i - 1];
      frag.append(tickRow(t, prev?.price, decimals));
    }
    tableQueue.length = 0;
    ticksBody.insertBefore(frag, ticksBody.firstChild);
    while (ticksBody.rows.length > TICK_ROWS) ticksBody.lastElementChild!.remove();
  };

  const onTicks = (sym: string, ticks: readonly LiveQuote[]): void => {
    if (sym !== symbol) return;
    for (const t of ticks) {
      if (loaded) bars.addTick(isoToMs(t.ts), t.price, t.size);
      else if (pending.length < PENDING_MAX) pending.push(t);
      tableQueue.push(t);
    }
    if (tableQueue.length > TICK_ROWS) tableQueue.splice(0, tableQueue.length - TICK_ROWS);
    const last = ticks.at(-1);
    if (last !== undefined) ensureDecimals(last.price);
    app.frame.schedule(renderChart);
    app.frame.schedule(renderTicks);
  };

  const loadBars = async (): Promise<void> => {
    const seq = ++loadSeq;
    loaded = false;
    pending = [];
    bars = new LiveBars(interval, BAR_LIMIT);
    chartNote.hidden = false;
    setText(chartNote, 'Loading bars…');
    try {
      const res = await app.api.get<{ bars?: ApiBar[] }>('/v1/bars', { symbol, interval, limit: BAR_LIMIT });
      if (seq !== loadSeq) return; // another interval was picked meanwhile
      const list: ChartBar[] = [];
      for (const b of res.bars ?? []) {
        const cb = chartBarFromApi(b);
        if (cb !== null) list.push(cb);
      }
      if (list.length > 0) ensureDecimals(list.at(-1)!.close);
      chart.configure(decimals >= 0 ? decimals : 2, interval);
      bars.load(list);
      for (const t of pending) bars.addTick(isoToMs(t.ts), t.price, t.size);
      pending = [];
      loaded = true;
      bars.takeChanges();
      chart.setBars(bars.bars);
      chart.scrollToLatest();
      setText(chartNote, `No ${interval} bars for ${symbol} yet: the chart fills as ticks arrive.`);
      chartNote.hidden = bars.bars.length > 0;
    } catch (err) {
      if (seq !== loadSeq) return;
      setText(chartNote, `Could not load the bars: ${errorText(err)}`);
    }
  };

  const selectInterval = (iv: Interval): void => {
    for (const [name, b] of buttons) b.setAttribute('aria-pressed', String(name === iv));
    if (iv === interval && (loaded || loadSeq > 0)) return;
    interval = iv;
    try {
      localStorage.setItem(INTERVAL_KEY, iv);
    } catch {
      // Not remembered when storage is unavailable; nothing else depends on it.
    }
    void loadBars();
  };

  const loadTicks = async (): Promise<void> => {
    try {
      const res = await app.api.get<{ ticks?: HistoryTick[] }>('/v1/prices/history', { symbol, limit: 50, order: 'desc' });
      const ticks = res.ticks ?? [];
      if (ticks.length === 0 && ticksBody.rows.length === 1 && ticksPlaceholder.isConnected) {
        setText(ticksPlaceholder.firstChild!, `No stored ticks for ${symbol} yet.`);
        return;
      }
      if (ticks.length > 0) {
        ensureDecimals(ticks[0]!.price);
        ticksPlaceholder.remove();
      }
      // History is newest first; live ticks already shown are newer, so history goes below them.
      const frag = document.createDocumentFragment();
      for (let i = 0; i < ticks.length; i++) frag.append(tickRow(ticks[i]!, ticks[i + 1]?.price, decimals));
      ticksBody.append(frag);
      while (ticksBody.rows.length > TICK_ROWS) ticksBody.lastElementChild!.remove();
    } catch (err) {
      setText(ticksPlaceholder.firstChild!, `Could not load recent ticks: ${errorText(err)}`);
    }
  };

  cleanup.push(
    app.onTicks(onTicks),
    app.market.onQuotes((changed) => {
      if (changed.has(symbol)) app.frame.schedule(renderHeader);
    }),
    app.theme.onChange(() => {
      chart.applyTheme();
      if (loaded) chart.setBars(bars.bars);
    }),
    () => app.frame.cancel(renderChart),
    () => app.frame.cancel(renderTicks),
    () => app.frame.cancel(renderHeader),
  );
  const headerTimer = setInterval(renderHeader, 1000);
  cleanup.push(() => clearInterval(headerTimer));

  selectInterval(interval);
  void loadTicks();
  app.dayOpens.request(symbol);
  renderHeader();

  return { root, title: symbol, dispose: () => disposeAll(cleanup) };
}

function tickRow(t: HistoryTick | LiveQuote, prevPrice: number | undefined, decimals: number): HTMLTableRowElement {
  const d = decimals >= 0 ? decimals : priceDecimals(t.price);
  const dir = prevPrice === undefined || t.price === prevPrice ? '' : t.price > prevPrice ? ' up' : ' down';
  return h(
    'tr',
    null,
    td(formatUtc(t.ts), 'mono muted'),
    td(formatPrice(t.price, d), `num${dir}`),
    td(formatSize(t.size), 'num'),
    td(formatPrice(t.bid, d), 'num muted'),
    td(formatPrice(t.ask, d), 'num muted'),
    td(t.provider || '—', 'muted'),
  );
}

function storedInterval(): Interval {
  try {
    const v = localStorage.getItem(INTERVAL_KEY);
    if (isInterval(v)) return v;
  } catch {
    // Fall through to the default.
  }
  return '1m';
}
