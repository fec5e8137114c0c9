/**
 * Entry point of the dashboard: checks the session, shows the login or the application shell, routes
 * hash changes to pages and feeds the live stream into the market state.
 */
import './styles.css';
import { ApiClient, type Session } from './api.ts';
import type { App, Page } from './app.ts';
import { errorText } from './components.ts';
import { DayOpenLoader } from './day-open.ts';
import { h } from './dom.ts';
import { FrameScheduler } from './frame.ts';
import { Shell } from './layout.ts';
import type { LiveMessage, LiveQuote } from './live-protocol.ts';
import { LiveFeed } from './live.ts';
import { MarketState } from './market.ts';
import { adminPage } from './pages/admin.ts';
import { loginView } from './pages/login.ts';
import { overviewPage } from './pages/overview.ts';
import { qualityPage } from './pages/quality.ts';
import { sourcesPage } from './pages/sources.ts';
import { symbolPage } from './pages/symbol.ts';
import { parseRoute, routeHash, type Route } from './router.ts';
import { ThemeController } from './theme.ts';

const rootEl = document.getElementById('root') ?? document.body;
const theme = new ThemeController();
const api = new ApiClient(() => sessionEnded());

/** The running application between a login and a logout; null while the login shows. */
let running: { app: App; shell: Shell; page: Page | null; route: Route | null; stop: () => void } | null = null;
let login: { dispose(): void } | null = null;

async function boot(): Promise<void> {
  let session: Session | null;
  try {
    session = await api.me();
  } catch (err) {
    rootEl.replaceChildren(
      h(
        'div',
        { class: 'login-page' },
        h('div', { class: 'login-form' }, h('h1', null, 'Tickline'), h('p', { class: 'form-error' }, `The server did not answer: ${errorText(err)}`), h('button', { type: 'button', class: 'button-primary', onclick: () => void boot() }, 'Try again')),
      ),
    );
    return;
  }
  if (session === null) showLogin();
  else startApp(session);
}

function showLogin(notice?: string): void {
  running?.stop();
  running = null;
  login?.dispose();
  const view = loginView(api, (session) => startApp(session), notice);
  login = view;
  document.title = 'Sign in · Tickline';
  rootEl.replaceChildren(view.root);
}

function sessionEnded(): void {
  if (running !== null) showLogin('Your session has ended. Sign in again.');
}

function startApp(session: Session): void {
  login?.dispose();
  login = null;
  api.setCsrf(session.csrf);
  const market = new MarketState();
  const frame = new FrameScheduler();
  const tickListeners = new Set<(symbol: string, ticks: readonly LiveQuote[]) => void>();

  const shell = new Shell(session, theme.theme, {
    onLogout: () => void logout(),
    onToggleTheme: () => theme.toggle(),
    onSymbol: (symbol) => {
      location.hash = routeHash({ page: 'symbol', symbol });
    },
  });

  const onMessage = (msg: LiveMessage): void => {
    if (msg.type === 'quotes') market.applyQuotes(msg.quotes);
    else if (msg.type === 'stats') market.applyStats(msg.stats);
    else for (const l of tickListeners) l(msg.symbol, msg.ticks);
  };
  const live = new LiveFeed({
    onMessage,
    onStatus: (status) => shell.setLiveStatus(status),
    sessionValid: async () => {
      const valid = (await api.me()) !== null;
      if (!valid) queueMicrotask(sessionEnded); // after the feed has stopped itself
      return valid;
    },
  });

  const app: App = {
    api,
    session,
    market,
    frame,
    theme,
    live,
    dayOpens: new DayOpenLoader(api, market),
    onTicks(listener) {
      tickListeners.add(listener);
      return () => tickListeners.delete(listener);
    },
  };

  // The search box suggests every symbol seen; checked once per frame, and only a new symbol costs work.
  let shellSymbolCount = 0;
  const knownSymbols = (): void => {
    if (market.symbols.size !== shellSymbolCount) {
      shellSymbolCount = market.symbols.size;
      shell.addSymbols(market.symbols.keys());
    }
  };
  const unsubscribeSymbols = market.onQuotes(() => frame.schedule(knownSymbols));
  const unsubscribeTheme = theme.onChange((t) => shell.setTheme(t));
  const onHash = (): void => route();
  window.addEventListener('hashchange', onHash);

  const state = {
    app,
    shell,
    page: null as Page | null,
    route: null as Route | null,
    stop: () => {
      window.removeEventListener('hashchange', onHash);
      unsubscribeSymbols();
      unsubscribeTheme();
      state.page?.dispose();
      live.stop();
    },
  };
  running = state;
  rootEl.replaceChildren(shell.root);
  const first = parseRoute(location.hash);
  live.start(first.page === 'symbol' ? first.symbol : null);
  route();
}

function route(): void {
  if (running === null) return;
  const r = parseRoute(location.hash);
  const prev = running.route;
  if (prev !== null && routeHash(prev) === routeHash(r)) return;
  running.page?.dispose();
  const page = pageFor(running.app, r);
  running.page = page;
  running.route = r;
  running.shell.setActive(r.page);
  running.shell.main.replaceChildren(page.root);
  running.app.live.setSymbol(r.page === 'symbol' ? r.symbol : null);
  document.title = `${page.title} · Tickline`;
}

function pageFor(app: App, r: Route): Page {
  switch (r.page) {
    case 'overview':
      return overviewPage(app);
    case 'symbol':
      return symbolPage(app, r.symbol);
    case 'quality':
      return qualityPage(app);
    case 'sources':
      return sourcesPage(app);
    case 'admin':
      return adminPage(app);
    case 'not-found':
      return {
        root: h('div', { class: 'page' }, h('div', { class: 'empty-state' }, h('h1', null, 'Page not found'), h('p', null, h('a', { href: '#/' }, 'Back to the overview')))),
        title: 'Not found',
        dispose: () => {},
      };
  }
}

async function logout(): Promise<void> {
  try {
    await api.logout();
  } catch {
    // The session is dropped on this side whatever the server said; the login form is the next step.
  }
  showLogin();
}

void boot();
