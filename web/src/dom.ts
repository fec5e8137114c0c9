/**
 * A few DOM helpers instead of a framework: `h()` builds elements, and views keep references to the
 * nodes they update, so a live update writes `textContent` of the cells that changed and nothing else.
 * Text always goes through `textContent` (never `innerHTML`): values from the API cannot inject markup.
 */

type AttrValue = string | number | boolean | null | undefined;
type Handler = (event: Event) => void;
export type Attrs = Record<string, AttrValue | Handler>;
export type Child = Node | string | number | null | undefined | false;

/**
 * `h('a', { href: '#/', class: 'nav', 'data-testid': 'nav-overview', onclick: fn }, 'Overview')`.
 * `on<event>` keys with a function add a listener; `true` sets an empty attribute; `false`, null and
 * undefined leave the attribute out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element (they need their namespace). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  if (attrs) setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Sets a node's text only when it differs: an unchanged write still costs the browser a text update. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets an element's class list only when it differs (same reason as `setText`). */
export function setClass(el: Element, className: string): void {
  if (el.className !== className) el.className = className;
}

/** Removes every child. */
export function clear(el: Element): void {
  el.replaceChildren();
}

/** A table with a header row; returns the table and its body. */
export function table(columns: readonly (string | { label: string; className?: string; title?: string })[], attrs?: Attrs): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const head = h(
    'tr',
    null,
    ...columns.map((c) => (typeof c === 'string' ? h('th', null, c) : h('th', { class: c.className, title: c.title }, c.label))),
  );
  const body = h('tbody');
  return { table: h('table', { class: 'grid', ...attrs }, h('thead', null, head), body), body };
}

/** A `<td>` holding text (optionally with a class). */
export function td(text: string, className?: string): HTMLTableCellElement {
  return h('td', className === undefined ? null : { class: className }, text);
}

/** A one-cell row spanning the table, for "loading…", "nothing here" and errors. */
export function messageRow(colspan: number, text: string, className = 'muted'): HTMLTableRowElement {
  return h('tr', { class: 'message-row' }, h('td', { colspan, class: className }, text));
}
