/**
 * Dark and light themes. The choice is remembered in localStorage; without one the page follows the
 * system (`prefers-color-scheme`, also handled in CSS so the first paint is already right).
 */

export type Theme = 'dark' | 'light';

const STORAGE_KEY = 'tickline.theme';

/** The theme to start with: the remembered one if valid, else the system's preference. */
export function initialTheme(stored: string | null, prefersDark: boolean): Theme {
  if (stored === 'dark' || stored === 'light') return stored;
  return prefersDark ? 'dark' : 'light';
}

type Listener = (theme: Theme) => void;

export class ThemeController {
  #theme: Theme;
  #listeners = new Set<Listener>();

  constructor() {
    this.#theme = initialTheme(readStored(), matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = this.#theme;
  }

  get theme(): Theme {
    return this.#theme;
  }

  toggle(): void {
    this.set(this.#theme === 'dark' ? 'light' : 'dark');
  }

  set(theme: Theme): void {
    this.#theme = theme;
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem(STORAGE_KEY, theme);
    } catch {
      // Storage can be disabled (private mode, policy); the theme then lasts for this page only.
    }
    for (const l of this.#listeners) l(theme);
  }

  /** Calls `listener` after each change; returns the unsubscribe function. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** The value of a CSS custom property on the root (the chart needs colours as strings). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
