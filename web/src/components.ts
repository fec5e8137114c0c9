/** Small view pieces shared by the pages. */
import { ApiError } from './api.ts';
import { h, svg } from './dom.ts';
import { sparklinePath } from './sparkline.ts';

/** A page section: a titled panel with optional actions on the right of its title. */
export function panel(title: string, body: Node, actions?: Node, testid?: string): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'data-testid': testid },
    h('header', { class: 'panel-head' }, h('h2', null, title), actions ?? null),
    body,
  );
}

/** A coloured label: `badge('PASS', 'ok')`. Kinds: ok, bad, warn, info, muted. */
export function badge(text: string, kind: 'ok' | 'bad' | 'warn' | 'info' | 'muted'): HTMLElement {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** The sentence to show for an error from the API. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return 'Your role does not allow this.';
    if (err.status === 0) return 'The server could not be reached.';
    return `${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A sparkline whose path is replaced in place: `update(values, count)` recomputes one `d` attribute and
 * touches nothing else. The line's colour comes from CSS (`currentColor`).
 */
export class Sparkline {
  readonly el: SVGSVGElement;
  #path: SVGPathElement;
  #width: number;
  #height: number;

  constructor(width: number, height: number, className = 'spark') {
    this.#width = width;
    this.#height = height;
    this.#path = svg('path', { fill: 'none', stroke: 'currentColor', 'stroke-width': 1.25, 'stroke-linejoin': 'round', 'vector-effect': 'non-scaling-stroke' });
    this.el = svg('svg', { class: className, width, height, viewBox: `0 0 ${width} ${height}`, 'aria-hidden': 'true' }, this.#path);
  }

  update(values: ArrayLike<number>, count: number): void {
    const d = sparklinePath(values, count, this.#width, this.#height, 1.5);
    if (this.#path.getAttribute('d') !== d) this.#path.setAttribute('d', d);
  }
}
