/**
 * Overview: pipeline health cards and the live prices table.
 *
 * Rendering: the market state changes on every event; this page only records which symbols changed and
 * renders them once per animation frame, writing the cells of those rows and nothing else. Rows are
 * created once per symbol; ages tick once a second. Rows scrolled out of view are not rendered: they stay
 * marked and render when they come back into view, so the page's own work follows what is on screen
 * rather than the number of symbols (the browser's layout of a long table still grows with its rows).
 */
import { disposeAll, type App, type Page } from '../app.ts';
import { Sparkline, errorText, panel } from '../components.ts';
import { h, messageRow, setClass, setText, table, td } from '../dom.ts';
import { formatAge, formatInt, formatMs, formatNumber, formatPct, formatPrice, formatRatio, priceDecimals } from '../format.ts';
import { SPARK_POINTS, STATS_POINTS, changeOf, type MarketState, type SymbolQuote } from '../market.ts';

const SPARK_W = 112;
const SPARK_H = 26;
const COLUMNS = 8;

interface RowView {
  tr: HTMLTableRowElement;
  price: HTMLTableCellElement;
  change: HTMLTableCellElement;
  bid: HTMLTableCellElement;
  ask: HTMLTableCellElement;
  age: HTMLTableCellElement;
  provider: HTMLTableCellElement;
  spark: Sparkline;
  /** Decimals fixed at the first price, so a column does not change width as prices move. */
  decimals: number;
  /** The change base shown in the tooltip, to rewrite it only when it changes. */
  base: number;
  /** The `moves` count last flashed, and which of the two flash animations ran last. */
  moves: number;
  flip: boolean;
}

export function overviewPage(app: App): Page {
  const cleanup: (() => void)[] = [];
  const scratch = new Float64Array(Math.max(SPARK_POINTS, STATS_POINTS));
  const rows = new Map<string, RowView>();
  /** Symbols in table order, for inserting new rows in place. */
  const order: string[] = [];
  const dirty = new Set<string>();
  const hidden = new Set<string>();
  const visibility = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const symbol = (e.target as HTMLElement).dataset.symbol!;
        if (e.isIntersecting) hidden.delete(symbol);
        else hidden.add(symbol);
      }
      if (dirty.size > 0) app.frame.schedule(render);
    },
    { rootMargin: '200px 0px' },
  );

  const cards = healthCards();
  const { table: pricesTable, body } = table(
    [
      'Symbol',
      { label: 'Last', className: 'num' },
      { label: 'Chg %', className: 'num', title: "Change since the day's open (UTC, from the 1d bar); ◦ marks a change since the first price seen in this session" },
      { label: 'Bid', className: 'num' },
      { label: 'Ask', className: 'num' },
      { label: 'Age', className: 'num', title: 'Time since the event time of the latest quote' },
      'Provider',
      { label: 'Recent', className: 'spark-col', title: 'The last 30 seconds of quotes' },
    ],
    { 'data-testid': 'prices-table', class: 'grid prices' },
  );
  const placeholder = messageRow(COLUMNS, 'Waiting for prices…');
  body.append(placeholder);
  const legend = h(
    'p',
    { class: 'legend' },
    "Chg % is measured against the day's open (UTC 1d bar). ",
    h('span', { class: 'basis-mark' }, '◦'),
    ' marks symbols with no bar today yet: their change is against the first price seen in this session.',
  );

  const root = h(
    'div',
    { class: 'page page-overview' },
    h('div', { class: 'cards', 'data-testid': 'health-cards' }, ...cards.elements),
    panel('Live prices', h('div', { class: 'table-wrap' }, pricesTable), undefined, 'prices-panel'),
    legend,
  );

  const render = (): void => {
    const now = Date.now();
    for (const symbol of dirty) {
      if (hidden.has(symbol)) continue; // stays dirty until it scrolls into view
      const q = app.market.symbols.get(symbol);
      if (q !== undefined) renderRow(rowFor(q), q, now);
      dirty.delete(symbol);
    }
  };

  const rowFor = (q: SymbolQuote): RowView => {
    let view = rows.get(q.symbol);
    if (view !== undefined) return view;
    view = createRow(q);
    rows.set(q.symbol, view);
    const at = insertionIndex(order, q.symbol);
    body.insertBefore(view.tr, at < order.length ? rows.get(order[at]!)!.tr : null);
    order.splice(at, 0, q.symbol);
    visibility.observe(view.tr);
    placeholder.remove();
    return view;
  };

  const renderRow = (view: RowView, q: SymbolQuote, now: number): void => {
    if (!Number.isFinite(q.price)) return;
    if (view.decimals < 0) {
      view.decimals = priceDecimals(q.price);
      // Asked at the row's first render, which happens in view: with thousands of symbols, only the
      // rows someone looks at cost a request.
      app.dayOpens.request(q.symbol);
    }
    setText(view.price, formatPrice(q.price, view.decimals));
    setText(view.bid, formatPrice(q.bid, view.decimals));
    setText(view.ask, formatPrice(q.ask, view.decimals));
    setText(view.provider, q.provider || '—');
    setText(view.age, Number.isFinite(q.tsMs) ? formatAge(now - q.tsMs) : '—');
    const change = changeOf(q, now);
    setText(view.change, formatPct(change.pct));
    setClass(view.change, `num ${trendClass(change.pct)}`);
    if (view.change.dataset.basis !== change.basis || view.base !== change.base) {
      view.change.dataset.basis = change.basis;
      view.change.title =
        change.basis === 'day-open'
          ? `Since the day's open ${formatPrice(change.base, view.decimals)} (UTC)`
          : `Since the first price seen in this session, ${formatPrice(change.base, view.decimals)}`;
      view.base = change.base;
    }
    if (q.moves !== view.moves) {
      // Two identical animations under different names: swapping the name restarts the flash without
      // forcing a layout to reset the animation.
      view.flip = !view.flip;
      view.price.className = `num price flash-${q.direction > 0 ? 'up' : 'down'}-${view.flip ? 'a' : 'b'}`;
      view.moves = q.moves;
    }
    const n = q.recent.copyTo(scratch);
    view.spark.update(scratch, n);
    view.spark.el.classList.toggle('down', n > 1 && scratch[n - 1]! < scratch[0]!);
  };

  const tickAges = (): void => {
    const now = Date.now();
    for (const [symbol, view] of rows) {
      if (hidden.has(symbol)) continue;
      const q = app.market.symbols.get(symbol);
      if (q !== undefined && Number.isFinite(q.tsMs)) setText(view.age, formatAge(now - q.tsMs));
    }
  };

  const renderStats = (): void => cards.render(app.market, scratch);

  // Symbols the page already knows (from earlier pages) render at once; later ones as they change.
  for (const symbol of app.market.symbols.keys()) dirty.add(symbol);
  app.frame.schedule(render);
  if (app.market.stats !== null) app.frame.schedule(renderStats);

  cleanup.push(
    app.market.onQuotes((changed) => {
      for (const s of changed) dirty.add(s);
      app.frame.schedule(render);
    }),
    app.market.onStats(() => app.frame.schedule(renderStats)),
    () => app.frame.cancel(render),
    () => app.frame.cancel(renderStats),
    () => visibility.disconnect(),
  );
  const ageTimer = setInterval(tickAges, 1000);
  cleanup.push(() => clearInterval(ageTimer));

  void loadSymbols(app, placeholder);

  body.addEventListener('click', (e) => {
    const tr = (e.target as Element).closest('tr[data-symbol]');
    if (tr !== null && !(e.target as Element).closest('a')) location.hash = `#/symbol/${encodeURIComponent(tr.getAttribute('data-symbol')!)}`;
  });

  return { root, title: 'Overview', dispose: () => disposeAll(cleanup) };
}

/** Seeds the table with every stored symbol, so it is complete before each symbol's next quote. */
async function loadSymbols(app: App, placeholder: HTMLElement): Promise<void> {
  try {
    const res = await app.api.get<{ symbols?: { symbol: string; last_price: number | null }[] }>('/v1/symbols');
    for (const s of res.symbols ?? []) app.market.seed(s.symbol, typeof s.last_price === 'number' ? s.last_price : null);
    if ((res.symbols ?? []).length === 0) setText(placeholder, 'No symbols yet: waiting for the first prices…');
  } catch (err) {
    setText(placeholder, `Could not list the symbols: ${errorText(err)}. Live prices appear as they arrive.`);
  }
}

function createRow(q: SymbolQuote): RowView {
  const href = `#/symbol/${encodeURIComponent(q.symbol)}`;
  const view: RowView = {
    tr: h('tr', { 'data-testid': `price-${q.symbol}`, 'data-symbol': q.symbol, class: 'clickable' }),
    price: td('—', 'num price'),
    change: td('—', 'num'),
    bid: td('—', 'num muted'),
    ask: td('—', 'num muted'),
    age: td('—', 'num muted'),
    provider: td('—', 'muted'),
    spark: new Sparkline(SPARK_W, SPARK_H),
    decimals: -1,
    base: Number.NaN,
    moves: q.moves,
    flip: false,
  };
  view.tr.append(
    h('td', { class: 'symbol' }, h('a', { href }, q.symbol)),
    view.price,
    view.change,
    view.bid,
    view.ask,
    view.age,
    view.provider,
    h('td', { class: 'spark-col' }, view.spark.el),
  );
  return view;
}

/** Where `symbol` goes in the sorted `order` (binary search). */
function insertionIndex(order: readonly string[], symbol: string): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order[mid]! < symbol) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function trendClass(pct: number | null): string {
  if (pct === null || Math.abs(pct) < 0.005) return 'flat';
  return pct > 0 ? 'up' : 'down';
}

interface Card {
  el: HTMLElement;
  value: HTMLElement;
  note: HTMLElement;
}

function card(testid: string, label: string, hint: string): Card {
  const value = h('div', { class: 'card-value' }, '—');
  const note = h('div', { class: 'card-note' }, hint);
  return { el: h('div', { class: 'card', 'data-testid': testid }, h('div', { class: 'card-label' }, label), value, note), value, note };
}

/** The five pipeline health cards, rendered from the latest stats. */
function healthCards(): { elements: HTMLElement[]; render: (market: MarketState, scratch: Float64Array) => void } {
  const ticks = card('health-ticks', 'Ticks in', 'per second, last 2 min');
  const spark = new Sparkline(200, 24, 'spark card-spark');
  spark.el.setAttribute('preserveAspectRatio', 'none'); // stretched to the card's width by CSS
  ticks.note.before(spark.el);
  const pass = card('health-quality', 'Quality pass rate', 'rows passing the gate');
  const quarantined = card('health-quarantined', 'Quarantined rows', 'total since start');
  const store = card('health-store', 'Store write p50', 'median batch write');
  const lag = card('health-lag', 'Bus lag', 'ticks waiting for processing');

  return {
    elements: [ticks.el, pass.el, quarantined.el, store.el, lag.el],
    render(market, scratch) {
      const s = market.stats;
      if (s === null) return;
      setText(ticks.value, s.ticks_per_s === null ? '—' : `${formatNumber(s.ticks_per_s)}/s`);
      spark.update(scratch, market.throughput.copyTo(scratch));
      setText(pass.value, formatRatio(s.quality_pass_rate));
      pass.el.dataset.level = level(s.quality_pass_rate, 0.99, 0.9, true);
      setText(quarantined.value, formatInt(s.quarantined_total));
      setText(store.value, formatMs(s.store_write_p50_ms));
      store.el.dataset.level = level(s.store_write_p50_ms, 50, 250, false);
      setText(lag.value, formatInt(s.bus_lag_ticks));
      lag.el.dataset.level = level(s.bus_lag_ticks, 10_000, 50_000, false);
    },
  };
}

/** `ok` / `warn` / `bad` against two thresholds (higher is better when `high` is true). */
function level(v: number | null, warn: number, bad: number, high: boolean): string {
  if (v === null) return 'none';
  if (high) return v < bad ? 'bad' : v < warn ? 'warn' : 'ok';
  return v > bad ? 'bad' : v > warn ? 'warn' : 'ok';
}
