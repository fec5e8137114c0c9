/**
 * The symbol page's chart (TradingView Lightweight Charts v5): candlesticks with a 20-bar simple moving
 * average in the main pane and volume as a histogram in a second pane below. Colours come from the
 * theme's CSS variables and follow theme changes.
 *
 * Times are the bars' UTC bucket starts in seconds; the time axis shows UTC, like the rest of the page.
 * The library's own attribution logo is turned off because the page shows the attribution link itself,
 * under the chart (see docs/dashboard.md).
 */
import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  LineSeries,
  createChart,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type LineData,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { ChartBar, BarChanges, Interval } from './bars.ts';
import { formatPrice } from './format.ts';
import { sma, smaAt } from './indicators.ts';
import { cssVar } from './theme.ts';

export const SMA_PERIOD = 20;

export class PriceChart {
  #chart: IChartApi;
  #candles: ISeriesApi<'Candlestick'>;
  #average: ISeriesApi<'Line'>;
  #volume: ISeriesApi<'Histogram'>;
  /** Points in the series, to know whether an update is on the newest point. */
  #count = 0;
  #upVolume = '';
  #downVolume = '';

  constructor(container: HTMLElement) {
    this.#chart = createChart(container, {
      autoSize: true,
      layout: { attributionLogo: false, fontSize: 12, fontFamily: cssVar('--font-sans') || 'system-ui, sans-serif' },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, rightOffset: 4, timeVisible: true },
    });
    this.#candles = this.#chart.addSeries(CandlestickSeries, { borderVisible: false, priceLineVisible: true }, 0);
    this.#average = this.#chart.addSeries(
      LineSeries,
      { lineWidth: 2, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, title: `SMA ${SMA_PERIOD}` },
      0,
    );
    this.#volume = this.#chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, 1);
    this.#chart.panes()[0]?.setStretchFactor(3);
    this.#chart.panes()[1]?.setStretchFactor(1);
    this.applyTheme();
  }

  /** Re-reads the theme's colours (call after a theme change). */
  applyTheme(): void {
    const text = cssVar('--muted');
    const grid = cssVar('--grid');
    const up = cssVar('--up');
    const down = cssVar('--down');
    this.#chart.applyOptions({
      layout: {
        background: { type: ColorType.Solid, color: cssVar('--panel') },
        textColor: text,
        panes: { separatorColor: cssVar('--border'), separatorHoverColor: cssVar('--accent-soft') },
      },
      grid: { vertLines: { color: grid }, horzLines: { color: grid } },
    });
    this.#candles.applyOptions({ upColor: up, downColor: down, wickUpColor: up, wickDownColor: down });
    this.#average.applyOptions({ color: cssVar('--accent') });
    this.#upVolume = cssVar('--up-soft');
    this.#downVolume = cssVar('--down-soft');
  }

  /**
   * Price decimals of the axis and crosshair labels (with thousands separators, like the tables), and
   * seconds on the time axis for 1s bars. The volume pane keeps the library's compact volume format.
   */
  configure(decimals: number, interval: Interval): void {
    const minMove = Number((10 ** -decimals).toFixed(decimals));
    const priceFormat = { type: 'custom' as const, minMove, formatter: (p: number) => formatPrice(p, decimals) };
    this.#candles.applyOptions({ priceFormat });
    this.#average.applyOptions({ priceFormat });
    this.#chart.applyOptions({ timeScale: { secondsVisible: interval === '1s', timeVisible: interval !== '1d' } });
  }

  /** Shows `bars` (sorted, one per bucket), replacing what was shown. */
  setBars(bars: readonly ChartBar[]): void {
    this.#candles.setData(bars.map(candle));
    this.#volume.setData(bars.map((b) => this.#volumePoint(b)));
    const avg = sma(bars.map((b) => b.close), SMA_PERIOD);
    const points: LineData[] = [];
    for (let i = 0; i < bars.length; i++) if (Number.isFinite(avg[i]!)) points.push({ time: bars[i]!.time as UTCTimestamp, value: avg[i]! });
    this.#average.setData(points);
    this.#count = bars.length;
  }

  /** Applies the changes a `LiveBars` reported: point updates for a changed tail, a reload otherwise. */
  apply(bars: readonly ChartBar[], changes: BarChanges): void {
    if (changes.kind === 'none') return;
    // `update` may only touch the newest point or add newer ones; anything earlier reloads the data.
    if (changes.kind === 'all' || changes.from < this.#count - 1) {
      this.setBars(bars);
      return;
    }
    for (let i = changes.from; i < bars.length; i++) {
      const b = bars[i]!;
      this.#candles.update(candle(b));
      this.#volume.update(this.#volumePoint(b));
      const avg = smaAt(bars, i, SMA_PERIOD, (x) => x.close);
      if (Number.isFinite(avg)) this.#average.update({ time: b.time as UTCTimestamp, value: avg });
    }
    this.#count = bars.length;
  }

  /** Keeps the newest bars in view after a reload. */
  scrollToLatest(): void {
    this.#chart.timeScale().scrollToRealTime();
  }

  dispose(): void {
    this.#chart.remove();
  }

  #volumePoint(b: ChartBar): HistogramData {
    return { time: b.time as UTCTimestamp, value: b.volume, color: b.close >= b.open ? this.#upVolume : this.#downVolume };
  }
}

function candle(b: ChartBar): CandlestickData {
  return { time: b.time as UTCTimestamp, open: b.open, high: b.high, low: b.low, close: b.close };
}
