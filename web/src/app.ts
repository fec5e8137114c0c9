/** What every page gets from the application shell. */
import type { ApiClient, Session } from './api.ts';
import type { DayOpenLoader } from './day-open.ts';
import type { FrameScheduler } from './frame.ts';
import type { LiveQuote } from './live-protocol.ts';
import type { LiveFeed } from './live.ts';
import type { MarketState } from './market.ts';
import type { ThemeController } from './theme.ts';

export interface App {
  readonly api: ApiClient;
  readonly session: Session;
  readonly market: MarketState;
  readonly frame: FrameScheduler;
  readonly theme: ThemeController;
  readonly live: LiveFeed;
  readonly dayOpens: DayOpenLoader;
  /** Subscribes to the `ticks` events of the symbol the stream was opened for; returns the unsubscribe. */
  onTicks(listener: (symbol: string, ticks: readonly LiveQuote[]) => void): () => void;
}

/**
 * A page: its root element, and `dispose()`, which must undo everything the page started (listeners,
 * timers, charts) so that navigating back and forth leaks nothing.
 */
export interface Page {
  readonly root: HTMLElement;
  readonly title: string;
  dispose(): void;
}

/** Runs every function of a list once: the usual shape of a page's `dispose`. */
export function disposeAll(fns: (() => void)[]): void {
  for (const f of fns.splice(0)) f();
}
