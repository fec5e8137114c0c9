/**
 * The application shell: the top bar (product, navigation, symbol search, live indicator, user and
 * role, theme toggle, logout) and the main area the router fills.
 */
import type { Session } from './api.ts';
import { h, setText, svg } from './dom.ts';
import type { LiveStatus } from './live.ts';
import type { PageName } from './router.ts';
import type { Theme } from './theme.ts';

const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting',
  live: 'live',
  stale: 'stalled',
  reconnecting: 'reconnecting',
  stopped: 'offline',
};

const STATUS_TITLE: Record<LiveStatus, string> = {
  connecting: 'Opening the live stream',
  live: 'Receiving live updates',
  stale: 'The stream is open but no event arrived for 5 seconds',
  reconnecting: 'The live stream dropped; reconnecting',
  stopped: 'No live stream',
};

interface NavItem {
  page: PageName;
  label: string;
  href: string;
  adminOnly?: boolean;
}

const NAV: readonly NavItem[] = [
  { page: 'overview', label: 'Overview', href: '#/' },
  { page: 'quality', label: 'Quality', href: '#/quality' },
  { page: 'sources', label: 'Sources', href: '#/sources' },
  { page: 'admin', label: 'Admin', href: '#/admin', adminOnly: true },
];

export interface ShellHandlers {
  onLogout: () => void;
  onToggleTheme: () => void;
  onSymbol: (symbol: string) => void;
}

export class Shell {
  readonly root: HTMLElement;
  readonly main: HTMLElement;
  #links = new Map<PageName, HTMLAnchorElement>();
  #live: HTMLElement;
  #liveText: HTMLElement;
  #themeButton: HTMLButtonElement;
  #symbols: HTMLDataListElement;
  #knownSymbols = new Set<string>();

  constructor(session: Session, theme: Theme, handlers: ShellHandlers) {
    const isAdmin = session.user.role === 'admin';
    const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
    for (const item of NAV) {
      if (item.adminOnly && !isAdmin) continue;
      const a = h('a', { href: item.href, 'data-testid': `nav-${item.page}` }, item.label);
      this.#links.set(item.page, a);
      nav.append(a);
    }

    this.#symbols = h('datalist', { id: 'symbol-list' });
    const search = h('input', {
      type: 'search',
      class: 'symbol-search',
      placeholder: 'Symbol…',
      list: 'symbol-list',
      'aria-label': 'Go to symbol',
      'data-testid': 'symbol-search',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    const form = h(
      'form',
      {
        class: 'search',
        role: 'search',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const v = search.value.trim().toUpperCase();
          if (v !== '') handlers.onSymbol(v);
          search.value = '';
          search.blur();
        },
      },
      search,
      this.#symbols,
    );

    this.#liveText = h('span', { class: 'live-text' }, STATUS_TEXT.connecting);
    this.#live = h(
      'span',
      { class: 'live', 'data-state': 'connecting', 'data-testid': 'live-indicator', role: 'status', title: STATUS_TITLE.connecting },
      h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
      this.#liveText,
    );

    this.#themeButton = h('button', {
      type: 'button',
      class: 'icon-button',
      'data-testid': 'theme-toggle',
      onclick: () => handlers.onToggleTheme(),
    });
    this.setTheme(theme);

    const user = h(
      'span',
      {
        class: 'user',
        'data-testid': 'user-badge',
        title: session.authOff ? 'Authentication is switched off (TICKLINE_AUTH=off): every local caller is the operator' : undefined,
      },
      h('span', { class: 'user-name' }, session.user.username),
      h('span', { class: `role role-${session.user.role}` }, session.user.role),
    );
    // With authentication off there is no session to end: a logout would only show a form that cannot sign in.
    const logout = session.authOff
      ? null
      : h('button', { type: 'button', class: 'button-quiet', 'data-testid': 'logout', onclick: () => handlers.onLogout() }, 'Log out');

    const brand = h('a', { class: 'brand', href: '#/', 'aria-label': 'Tickline overview' }, logoMark(), h('span', null, 'Tickline'));
    const bar = h('header', { class: 'topbar' }, brand, nav, form, h('div', { class: 'topbar-right' }, this.#live, user, this.#themeButton, logout));
    this.main = h('main', { class: 'view', id: 'view', tabindex: '-1' });
    this.root = h('div', { class: 'app' }, bar, this.main);
  }

  /** Marks the nav link of the current page. */
  setActive(page: PageName): void {
    for (const [name, a] of this.#links) {
      if (name === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  setLiveStatus(status: LiveStatus): void {
    this.#live.dataset.state = status;
    this.#live.title = STATUS_TITLE[status];
    setText(this.#liveText, STATUS_TEXT[status]);
  }

  setTheme(theme: Theme): void {
    const next = theme === 'dark' ? 'light' : 'dark';
    this.#themeButton.title = `Switch to the ${next} theme`;
    this.#themeButton.setAttribute('aria-label', `Switch to the ${next} theme`);
    this.#themeButton.replaceChildren(theme === 'dark' ? sunIcon() : moonIcon());
  }

  /** Adds symbols to the search box's suggestions (only new ones touch the DOM). */
  addSymbols(symbols: Iterable<string>): void {
    for (const s of symbols) {
      if (this.#knownSymbols.has(s)) continue;
      this.#knownSymbols.add(s);
      this.#symbols.append(h('option', { value: s }));
    }
  }
}

/** The product mark (top bar and sign-in form). */
export function logoMark(): SVGSVGElement {
  return svg(
    'svg',
    { class: 'logo', width: 22, height: 22, viewBox: '0 0 24 24', 'aria-hidden': 'true' },
    svg('rect', { class: 'logo-bg', x: 1, y: 1, width: 22, height: 22, rx: 6 }),
    svg('path', { d: 'M5 15 L9 10 L13 13 L19 6', fill: 'none', stroke: '#fff', 'stroke-width': 2.2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }),
  );
}

function sunIcon(): SVGSVGElement {
  return svg(
    'svg',
    { width: 16, height: 16, viewBox: '0 0 24 24', 'aria-hidden': 'true', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round' },
    svg('circle', { cx: 12, cy: 12, r: 4.5 }),
    svg('path', { d: 'M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8' }),
  );
}

function moonIcon(): SVGSVGElement {
  return svg(
    'svg',
    { width: 16, height: 16, viewBox: '0 0 24 24', 'aria-hidden': 'true', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linejoin': 'round' },
    svg('path', { d: 'M20 14.5A8.5 8.5 0 0 1 9.5 4a8.5 8.5 0 1 0 10.5 10.5Z' }),
  );
}
